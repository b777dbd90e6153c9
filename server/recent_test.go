package server

import (
	"errors"
	"testing"
	"time"
)

func TestRecent(t *testing.T) {
	c := recent[string, int]{ttl: time.Hour}
	loads := 0
	load := func(v int, err error) func() (int, error) {
		return func() (int, error) { loads++; return v, err }
	}

	if _, err := c.get("a", load(0, errors.New("no such user"))); err == nil {
		t.Fatal("the load's error was not returned")
	}
	if v, _ := c.get("a", load(1, nil)); v != 1 || loads != 2 {
		t.Errorf("after a failed load: %d, %d loads; want the value loaded again (1, 2 loads)", v, loads)
	}
	if v, _ := c.get("a", load(2, nil)); v != 1 || loads != 2 {
		t.Errorf("within the ttl: %d, %d loads; want the kept value (1, 2 loads)", v, loads)
	}
	c.forget()
	if v, _ := c.get("a", load(3, nil)); v != 3 {
		t.Errorf("after forget: %d, want 3 loaded again", v)
	}

	// A load under way when forget is called may have read what was
	// there before the change: it is returned, not kept.
	v, _ := c.get("b", func() (int, error) { c.forget(); return 4, nil })
	if w, _ := c.get("b", load(5, nil)); v != 4 || w != 5 {
		t.Errorf("a load that forget overtook: %d then %d; want 4 then 5 (not kept)", v, w)
	}

	short := recent[string, int]{ttl: time.Nanosecond}
	short.get("a", load(6, nil))
	time.Sleep(time.Millisecond)
	if v, _ := short.get("a", load(7, nil)); v != 7 {
		t.Errorf("past the ttl: %d, want 7 loaded again", v)
	}
}

// TestRecentIsBounded: expired entries are swept once maxRecent are kept.
func TestRecentIsBounded(t *testing.T) {
	c := recent[int, int]{ttl: time.Nanosecond}
	for i := range 3 * maxRecent {
		c.get(i, func() (int, error) { return i, nil })
		time.Sleep(time.Nanosecond)
	}
	if n := len(c.m); n > maxRecent {
		t.Errorf("%d entries kept, want at most %d", n, maxRecent)
	}
}
