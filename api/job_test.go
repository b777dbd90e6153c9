package api

import (
	"strings"
	"testing"
)

func TestArrayRemaining(t *testing.T) {
	a := &Array{First: 1, Last: 19, Step: 2}
	for _, tc := range []struct {
		tasks *Tasks
		want  string
	}{
		{nil, "1-19:2"},
		{&Tasks{Next: 5}, "5-19:2"},
		{&Tasks{Next: 5, Deleted: []int64{3, 9}}, "5-7:2 11-19:2"},
		{&Tasks{Next: 5, Deleted: []int64{5, 19}}, "7-17:2"},
		{&Tasks{Next: 17, Deleted: []int64{19}}, "17-17:2"},
		{&Tasks{Next: 21}, ""},
		{&Tasks{Next: 1, Deleted: []int64{4}}, "1-19:2"}, // not a task of the array
	} {
		var got []string
		for _, r := range a.Remaining(tc.tasks) {
			got = append(got, r.String())
		}
		if s := strings.Join(got, " "); s != tc.want {
			t.Errorf("Remaining(%+v) = %q; want %q", tc.tasks, s, tc.want)
		}
	}
}
