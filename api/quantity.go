package api

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseMemory parses a Grid Engine memory quantity: a bare number is bytes,
// k m g t multiply by powers of 1000 and K M G T by powers of 1024
// ("4G" = 4·1024³, "500m" = 500·1000²). A trailing "b"/"B" is accepted
// ("4GB", "4gb").
func ParseMemory(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if len(t) > 1 && (t[len(t)-1] == 'b' || t[len(t)-1] == 'B') && strings.ContainsAny(t[len(t)-2:len(t)-1], "kmgtKMGT") {
		t = t[:len(t)-1]
	}
	if t == "" {
		return 0, fmt.Errorf("empty memory quantity")
	}
	mult := int64(1)
	switch t[len(t)-1] {
	case 'k':
		mult = 1000
	case 'm':
		mult = 1000 * 1000
	case 'g':
		mult = 1000 * 1000 * 1000
	case 't':
		mult = 1000 * 1000 * 1000 * 1000
	case 'K':
		mult = 1 << 10
	case 'M':
		mult = 1 << 20
	case 'G':
		mult = 1 << 30
	case 'T':
		mult = 1 << 40
	}
	if mult != 1 {
		t = t[:len(t)-1]
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("memory %q: want a number of bytes with an optional unit (k m g t = 1000ⁿ, K M G T = 1024ⁿ), e.g. 4G", s)
	}
	v := f * float64(mult)
	if v > 1<<62 {
		return 0, fmt.Errorf("memory %q is too large", s)
	}
	return int64(v), nil
}

// ParseWalltime parses a Grid Engine time: seconds ("3600") or
// [[h:]m:]s with empty fields as 0 ("1:30:00", "1::1", "90:00").
func ParseWalltime(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("empty time")
	}
	parts := strings.Split(t, ":")
	if len(parts) > 3 {
		return 0, fmt.Errorf("time %q: want seconds or h:m:s", s)
	}
	var total int64
	for _, p := range parts {
		var n int64
		if p != "" {
			v, err := strconv.ParseInt(p, 10, 64)
			if err != nil || v < 0 {
				return 0, fmt.Errorf("time %q: want seconds or h:m:s", s)
			}
			n = v
		}
		total = total*60 + n
		if total > 1<<40 {
			return 0, fmt.Errorf("time %q is too long", s)
		}
	}
	return total, nil
}

// FormatMemory renders bytes with the largest binary unit that divides
// them evenly, as Grid Engine prints resource lists: 4294967296 → "4G".
func FormatMemory(b int64) string {
	units := []struct {
		suffix string
		size   int64
	}{{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}}
	for _, u := range units {
		if b >= u.size && b%u.size == 0 {
			return strconv.FormatInt(b/u.size, 10) + u.suffix
		}
	}
	return strconv.FormatInt(b, 10)
}

// FormatWalltime renders seconds as h:mm:ss.
func FormatWalltime(sec int64) string {
	return fmt.Sprintf("%d:%02d:%02d", sec/3600, sec/60%60, sec%60)
}
