package docker

import (
	"testing"
)

func TestAddLine(t *testing.T) {
	const line = "tester:x:1000:1000:GoDocker user:/home/tester:/bin/sh"
	for _, tc := range []struct {
		name, file, want, conflict string
	}{
		{name: "empty", file: "", want: line + "\n"},
		{name: "appended", file: "root:x:0:0::/root:/bin/sh\n", want: "root:x:0:0::/root:/bin/sh\n" + line + "\n"},
		{name: "no final newline", file: "root:x:0:0::/root:/bin/sh", want: "root:x:0:0::/root:/bin/sh\n" + line + "\n"},
		{name: "uid there", file: "root:x:0:0::/root:/bin/sh\nubuntu:x:1000:1000::/home/ubuntu:/bin/bash\n"},
		{name: "uid there, CRLF", file: "ubuntu:x:1000:1000::/home/ubuntu:/bin/bash\r\n"},
		{name: "name there", file: "tester:x:1001:1001::/home/tester:/bin/bash\n", conflict: "tester:x:1001:1001::/home/tester:/bin/bash"},
		{name: "uid wins over name", file: "tester:x:1001:1001::/:/bin/sh\nother:x:1000:1000::/:/bin/sh\n"},
		{name: "comments and blanks", file: "# tester:x:1000\n\n", want: "# tester:x:1000\n\n" + line + "\n"},
		{name: "prefix of name", file: "test:x:7:7::/:/bin/sh\ntesters:x:8:8::/:/bin/sh\n", want: "test:x:7:7::/:/bin/sh\ntesters:x:8:8::/:/bin/sh\n" + line + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, conflict := addLine([]byte(tc.file), line, "tester", 1000)
			if string(out) != tc.want || conflict != tc.conflict || (tc.want == "") != (out == nil) {
				t.Errorf("addLine(%q) = %q, conflict %q; want %q, conflict %q", tc.file, out, conflict, tc.want, tc.conflict)
			}
		})
	}
}

func TestPasswdName(t *testing.T) {
	for name, ok := range map[string]bool{
		"tester": true, "a.b-c_d$": true, "": false, "a:b": false, "a\nb": false, "a\rb": false,
		"a\x00b": false, "+tester": false, "-tester": false,
	} {
		if err := passwdName("user name", name); (err == nil) != ok {
			t.Errorf("passwdName(%q): %v, want ok %v", name, err, ok)
		}
	}
}
