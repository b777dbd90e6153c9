package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/store"
)

// Bounds of one output read.
const (
	defaultOutputBytes = 64 << 10
	maxOutputBytes     = 1 << 20
)

// getOutput serves a piece of a job's stdout or stderr (gtop's live
// tail): ?stream=stdout|stderr&offset=N&max=M, a negative offset counting
// from the end. Only the job's owner and admins may read it.
func (s *Server) getOutput(w http.ResponseWriter, r *http.Request, c *caller) error {
	id, err := s.jobID(r)
	if err != nil {
		return err
	}
	j, err := s.store.Job(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return api.NotFound(fmt.Sprintf("job %d does not exist", id))
	}
	if err != nil {
		return err
	}
	if !c.Admin && j.User != c.User {
		return api.Denied(fmt.Sprintf("the output of job %s is %s's: only its owner and admins may read it", j.Ref(), j.User))
	}
	q := r.URL.Query()
	stream := q.Get("stream")
	var path string
	switch stream {
	case api.Stdout:
		path = j.Stdout
	case api.Stderr:
		path = j.Stderr
		if j.Spec.Join {
			path = ""
		}
	default:
		return api.Invalid(fmt.Sprintf("stream %q: want stdout or stderr", stream))
	}
	offset, err := strconv.ParseInt(q.Get("offset"), 10, 64)
	if err != nil && q.Get("offset") != "" {
		return api.Invalid(fmt.Sprintf("offset %q is not a number", q.Get("offset")))
	}
	limit := defaultOutputBytes
	if m := q.Get("max"); m != "" {
		if limit, err = strconv.Atoi(m); err != nil || limit <= 0 {
			return api.Invalid(fmt.Sprintf("max %q is not a positive number", m))
		}
		limit = min(limit, maxOutputBytes)
	}
	uid := j.UID
	if j.Run != nil {
		uid = j.Run.UID
	}
	out, err := readOutput(path, uid, offset, limit)
	if err != nil {
		return fmt.Errorf("read %s of job %s: %w", stream, j.Ref(), err)
	}
	out.Stream = stream
	writeJSON(w, http.StatusOK, out)
	return nil
}

// readOutput reads up to limit bytes of the job's output file at path
// from offset (negative: from the end). The server reads as root a path
// in directories the user controls, so it trusts only what the job itself
// wrote: no symbolic link anywhere on the path (openat2
// RESOLVE_NO_SYMLINKS), a regular file owned by the job's uid. A file not
// written yet (or /dev/null, or none) reads as empty.
func readOutput(path string, uid int, offset int64, limit int) (*api.Output, error) {
	out := &api.Output{Data: []byte{}}
	if path == "" || path == os.DevNull {
		return out, nil
	}
	fd, err := unix.Openat2(unix.AT_FDCWD, path, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_SYMLINKS,
	})
	if errors.Is(err, unix.ENOENT) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.Mode().IsRegular() || !ok || int(st.Uid) != uid {
		return nil, api.Denied(fmt.Sprintf("%s is not a file the job wrote", path))
	}
	size := fi.Size()
	start := offset
	if start < 0 {
		start = max(size+offset, 0)
	}
	start = min(start, size)
	out.Offset, out.Size = start, size
	buf := make([]byte, min(int64(limit), size-start))
	n, err := f.ReadAt(buf, start)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	out.Data = buf[:n]
	return out, nil
}
