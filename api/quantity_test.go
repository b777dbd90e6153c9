package api

import "testing"

func TestParseMemory(t *testing.T) {
	for in, want := range map[string]int64{
		"100": 100, "1k": 1000, "1K": 1024, "4G": 4 << 30, "4g": 4e9, "2M": 2 << 20,
		"500m": 500e6, "1.5G": 3 << 29, "4GB": 4 << 30, "0": 0,
	} {
		got, err := ParseMemory(in)
		if err != nil || got != want {
			t.Errorf("ParseMemory(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "G", "-1G", "abc", "1X", "1e30"} {
		if _, err := ParseMemory(bad); err == nil {
			t.Errorf("ParseMemory(%q) succeeded; want an error", bad)
		}
	}
}

func TestParseWalltime(t *testing.T) {
	for in, want := range map[string]int64{
		"3600": 3600, "1:00:00": 3600, "1::1": 3601, "90:00": 5400, "0:0:30": 30, ":5": 5,
	} {
		got, err := ParseWalltime(in)
		if err != nil || got != want {
			t.Errorf("ParseWalltime(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "1:2:3:4", "-5", "1h", "a:b"} {
		if _, err := ParseWalltime(bad); err == nil {
			t.Errorf("ParseWalltime(%q) succeeded; want an error", bad)
		}
	}
}

func TestFormat(t *testing.T) {
	if got := FormatMemory(4 << 30); got != "4G" {
		t.Errorf("FormatMemory(4G) = %q", got)
	}
	if got := FormatMemory(1500); got != "1500" {
		t.Errorf("FormatMemory(1500) = %q", got)
	}
	if got := FormatWalltime(3661); got != "1:01:01" {
		t.Errorf("FormatWalltime(3661) = %q", got)
	}
}
