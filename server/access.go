package server

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Permission bits asked of mayAccess.
const (
	permRead  = 4
	permWrite = 2
	permExec  = 1
)

// mayAccess reports whether a process with uid and groups could open path
// with the wanted permission bits, from the mode bits of path and the
// search permission on each of its parents. It is what the kernel would
// decide without ACLs; the container still runs as the user, so the kernel
// has the last word.
func mayAccess(path string, uid int, gids []int, want uint32) bool {
	if uid == 0 {
		return true
	}
	dir := filepath.Dir(path)
	for dir != "/" && dir != "." {
		if !allowed(dir, uid, gids, permExec) {
			return false
		}
		dir = filepath.Dir(dir)
	}
	return allowed(path, uid, gids, want)
}

func allowed(path string, uid int, gids []int, want uint32) bool {
	fi, err := os.Stat(path)
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	mode := uint32(fi.Mode().Perm())
	switch {
	case int(st.Uid) == uid:
		return (mode>>6)&want == want
	case inGroups(int(st.Gid), gids):
		return (mode>>3)&want == want
	default:
		return mode&want == want
	}
}

func inGroups(gid int, gids []int) bool {
	for _, g := range gids {
		if g == gid {
			return true
		}
	}
	return false
}

// within reports whether path is dir or below it (both clean and absolute).
func within(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, strings.TrimSuffix(dir, "/")+"/")
}
