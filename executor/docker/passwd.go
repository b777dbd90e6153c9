package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"

	"github.com/godocker/godocker/api"
)

// maxEtcFile bounds how much of an image's passwd or group file is read.
const maxEtcFile = 16 << 20

// addUser gives the created, not yet started, container of a user job a
// name for its uid and gid, as Apptainer does: the image's /etc/passwd
// with a line for Run.User (uid, gid, Run.Home, /bin/sh) and its
// /etc/group with a line for Run.Group, so that whoami, id -un, a shell's
// prompt, git and ssh work. An image line for the uid (or gid) is kept as
// it is, and no line is added for a name the image gives another uid (or
// gid). Root jobs (Run.User empty, or uid 0) are left alone. Supplementary
// groups get no lines: the job knows only their numbers.
//
// Failures are logged, not returned: a job without a name for its uid
// runs as it always did, and failing it for a cosmetic file would turn a
// quirk of one image into jobs that never start.
func (e *Executor) addUser(ctx context.Context, j *api.Job, name string) {
	r := j.Run
	if r.User == "" || r.UID == 0 {
		return
	}
	log := slog.With("executor", e.name, "job", j.ID, "container", name, "user", r.User)
	home := r.Home
	if home == "" {
		home = "/"
	}
	if err := passwdName("user name", r.User); err != nil {
		log.Error("no passwd entry for the job's user", "err", fmt.Errorf("passwd entry for job %d: %w", j.ID, err))
		return
	}
	if err := passwdField("home", home); err != nil {
		log.Error("no passwd entry for the job's user", "err", fmt.Errorf("passwd entry for job %d: %w", j.ID, err))
		return
	}
	group := r.Group
	if group != "" {
		if err := passwdName("group name", group); err != nil {
			log.Error("no group entry for the job's group", "err", fmt.Errorf("group entry for job %d: %w", j.ID, err))
			group = ""
		}
	}
	if err := e.writeUser(ctx, log, j, name, group, home); err != nil {
		log.Warn("could not give the job's user a name in its container; starting it anyway", "err", fmt.Errorf("passwd entry for job %d: %w", j.ID, err))
	}
}

// writeUser merges the job's user and group into the container's files
// and writes back those that changed.
func (e *Executor) writeUser(ctx context.Context, log *slog.Logger, j *api.Job, name, group, home string) error {
	r := j.Run
	img, err := e.etcOf(ctx, r.Image, name)
	if err != nil {
		return err
	}
	passwd, groups, etc := img.passwd, img.group, img.etc
	if group != "" && img.groupErr != nil {
		// A group file that cannot be read costs the group its name,
		// not the user theirs.
		log.Warn("job container has no group entry for its group; starting it anyway", "group", group, "err", fmt.Errorf("group entry for job %d: %w", j.ID, img.groupErr))
		group = ""
	}

	var files []etcFile
	line := fmt.Sprintf("%s:x:%d:%d:GoDocker user:%s:/bin/sh", r.User, r.UID, r.GID, home)
	out, conflict := addLine(passwd, line, r.User, r.UID)
	switch {
	case conflict != "":
		log.Debug("the image has the user's name for another uid: no passwd entry added", "passwd", conflict)
	case out != nil:
		files = append(files, etcFile{"passwd", out})
	}
	if group != "" {
		out, conflict := addLine(groups, fmt.Sprintf("%s:x:%d:", group, r.GID), group, r.GID)
		switch {
		case conflict != "":
			log.Debug("the image has the group's name for another gid: no group entry added", "group", conflict)
		case out != nil:
			files = append(files, etcFile{"group", out})
		}
	}
	if len(files) == 0 {
		return nil
	}
	archive, err := etcArchive(files, !etc)
	if err != nil {
		return err
	}
	dst := "/etc"
	if !etc {
		dst = "/"
	}
	if err := e.cli.CopyToContainer(ctx, name, dst, archive, container.CopyToContainerOptions{}); err != nil {
		var names []string
		for _, f := range files {
			names = append(names, "/etc/"+f.name)
		}
		return fmt.Errorf("write %s: %w", strings.Join(names, " and "), err)
	}
	return nil
}

// imageEtc is what an image's /etc says of users and groups.
type imageEtc struct {
	passwd, group []byte // nil: no such file
	groupErr      error  // the group file could not be read
	etc           bool   // /etc exists
}

// etcOf returns the users and groups of image, read from the container
// name, created from it and not started, the first time, then from
// memory. Each read from a container mounts its file system: the two or
// three reads took a tenth of a second and more of every job's start.
// An image does not change; the memory is keyed by the image's id, so a
// tag moved to another image is read again. A read that failed is not
// remembered.
func (e *Executor) etcOf(ctx context.Context, image, name string) (*imageEtc, error) {
	info, err := e.cli.ImageInspect(ctx, image)
	if err != nil {
		return nil, fmt.Errorf("inspect image %s: %w", image, err)
	}
	e.etcMu.Lock()
	cached, ok := e.etcCache[info.ID]
	e.etcMu.Unlock()
	if ok {
		return cached, nil
	}
	img := &imageEtc{}
	var havePasswd, haveGroup bool
	if img.passwd, havePasswd, err = e.readFile(ctx, name, "/etc/passwd"); err != nil {
		return nil, err
	}
	img.group, haveGroup, img.groupErr = e.readFile(ctx, name, "/etc/group")
	img.etc = havePasswd || haveGroup || img.groupErr != nil
	if !img.etc {
		switch _, err := e.cli.ContainerStatPath(ctx, name, "/etc"); {
		case err == nil:
			img.etc = true
		case !cerrdefs.IsNotFound(err):
			return nil, fmt.Errorf("stat /etc: %w", err)
		}
	}
	if img.groupErr == nil {
		e.etcMu.Lock()
		if e.etcCache == nil {
			e.etcCache = map[string]*imageEtc{}
		}
		e.etcCache[info.ID] = img
		e.etcMu.Unlock()
	}
	return img, nil
}

// readFile returns the content of a regular file in the container, and
// false if it does not exist (nor its directory).
func (e *Executor) readFile(ctx context.Context, name, path string) ([]byte, bool, error) {
	rc, _, err := e.cli.CopyFromContainer(ctx, name, path)
	if cerrdefs.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", path, err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	h, err := tr.Next()
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", path, err)
	}
	switch {
	case h.Typeflag == tar.TypeSymlink:
		return nil, false, fmt.Errorf("read %s: a symbolic link to %s: left alone", path, h.Linkname)
	case h.Typeflag != tar.TypeReg:
		return nil, false, fmt.Errorf("read %s: not a regular file: left alone", path)
	case h.Size > maxEtcFile:
		return nil, false, fmt.Errorf("read %s: %d bytes, over the limit of %d: left alone", path, h.Size, maxEtcFile)
	}
	b, err := io.ReadAll(tr)
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", path, err)
	}
	return b, true, nil
}

// etcFile is a file of /etc to write.
type etcFile struct {
	name string
	data []byte
}

// etcArchive returns the tar stream that writes files into /etc (to be
// extracted in /etc), owned by root with mode 0644. With mkdir, the
// stream creates /etc too (mode 0755) and is to be extracted in /.
func etcArchive(files []etcFile, mkdir bool) (io.Reader, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	prefix := ""
	if mkdir {
		prefix = "etc/"
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: prefix, Mode: 0o755, Uname: "root", Gname: "root", ModTime: now}); err != nil {
			return nil, fmt.Errorf("archive /etc: %w", err)
		}
	}
	for _, f := range files {
		h := &tar.Header{Typeflag: tar.TypeReg, Name: prefix + f.name, Mode: 0o644, Size: int64(len(f.data)), Uname: "root", Gname: "root", ModTime: now}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("archive /etc/%s: %w", f.name, err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, fmt.Errorf("archive /etc/%s: %w", f.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("archive /etc: %w", err)
	}
	return &buf, nil
}

// addLine returns file (a passwd or group file: name:x:id:...) with line
// appended, or nil if the file has a line for id already. If the file has
// a line for name with another id, it returns nil and that line: a second
// line for a name would make the name mean two ids.
func addLine(file []byte, line, name string, id int) (out []byte, conflict string) {
	var lines []string // not comments (glibc skips those)
	for l := range strings.SplitSeq(string(file), "\n") {
		if l = strings.TrimSuffix(l, "\r"); !strings.HasPrefix(strings.TrimSpace(l), "#") {
			lines = append(lines, l)
		}
	}
	for _, l := range lines {
		if f := strings.Split(l, ":"); len(f) >= 3 {
			if n, err := strconv.Atoi(f[2]); err == nil && n == id {
				return nil, ""
			}
		}
	}
	for _, l := range lines {
		if n, _, _ := strings.Cut(l, ":"); n == name {
			return nil, l
		}
	}
	out = append(out, file...)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	return append(append(out, line...), '\n'), ""
}

// passwdName checks a user or group name for a passwd or group file: a
// field (passwdField) that NIS would not read as a +/- entry.
func passwdName(what, s string) error {
	if err := passwdField(what, s); err != nil {
		return err
	}
	if s[0] == '+' || s[0] == '-' {
		return fmt.Errorf("%s %q starts with %c", what, s, s[0])
	}
	return nil
}

// passwdField checks a value for a field of a passwd or group file: not
// empty, and nothing that would end the field or the line.
func passwdField(what, s string) error {
	if s == "" {
		return errors.New(what + " is empty")
	}
	if i := strings.IndexAny(s, ":\n\r\x00"); i >= 0 {
		return fmt.Errorf("%s %q has %q, which cannot be written into a passwd or group file", what, s, s[i])
	}
	return nil
}
