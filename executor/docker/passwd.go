package docker

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
)

// maxEtcFile bounds how much of an image's passwd or group file is read.
const maxEtcFile = 16 << 20

// userMounts returns the bind mounts that give a user job's uid and gid
// names in its container, as Apptainer does: /etc/passwd, the image's
// with a line for Run.User (uid, gid, Run.Home, /bin/sh), and /etc/group,
// the image's with a line for Run.Group, both read-only, root's, mode
// 0644, so that whoami, id -un, a shell's prompt, git and ssh work. An
// image line for the uid (or gid) is kept as it is, and no line is added
// for a name the image gives another uid (or gid): that file is not
// mounted. Root jobs (Run.User empty, or uid 0) get none. Supplementary
// groups get no lines: the job knows only their numbers.
//
// The files are made once per image and user, kept in the executor's
// files directory under a name that is a digest of their content, and
// mounted when the container is created: writing them into each
// container instead made the engine mount its file system and start a
// process of its own for every job.
//
// Failures are logged, not returned: a job without a name for its uid
// runs as it always did, and failing it for a cosmetic file would turn a
// quirk of one image into jobs that never start.
func (e *Executor) userMounts(ctx context.Context, j *api.Job) []mount.Mount {
	r := j.Run
	if r.User == "" || r.UID == 0 {
		return nil
	}
	log := slog.With("executor", e.name, "job", j.ID, "user", r.User)
	home := r.Home
	if home == "" {
		home = "/"
	}
	if err := passwdName("user name", r.User); err != nil {
		log.Error("no passwd entry for the job's user", "err", fmt.Errorf("passwd entry for job %d: %w", j.ID, err))
		return nil
	}
	if err := passwdField("home", home); err != nil {
		log.Error("no passwd entry for the job's user", "err", fmt.Errorf("passwd entry for job %d: %w", j.ID, err))
		return nil
	}
	group := r.Group
	if group != "" {
		if err := passwdName("group name", group); err != nil {
			log.Error("no group entry for the job's group", "err", fmt.Errorf("group entry for job %d: %w", j.ID, err))
			group = ""
		}
	}
	mounts, err := e.etcMounts(ctx, log, j, group, home)
	if err != nil && !cerrdefs.IsNotFound(err) { // a missing image: creating the container says so
		log.Warn("could not give the job's user a name in its container; starting it anyway", "err", fmt.Errorf("passwd entry for job %d: %w", j.ID, err))
	}
	return mounts
}

// etcMounts merges the job's user and group into the image's files and
// returns the mounts of those that changed.
func (e *Executor) etcMounts(ctx context.Context, log *slog.Logger, j *api.Job, group, home string) ([]mount.Mount, error) {
	r := j.Run
	img, err := e.etcOf(ctx, r.Image)
	if err != nil {
		return nil, err
	}
	if group != "" && img.groupErr != nil {
		// A group file that cannot be read costs the group its name,
		// not the user theirs.
		log.Warn("job container has no group entry for its group; starting it anyway", "group", group, "err", fmt.Errorf("group entry for job %d: %w", j.ID, img.groupErr))
		group = ""
	}

	var files []etcFile
	line := fmt.Sprintf("%s:x:%d:%d:GoDocker user:%s:/bin/sh", r.User, r.UID, r.GID, home)
	out, conflict := addLine(img.passwd, line, r.User, r.UID)
	switch {
	case conflict != "":
		log.Debug("the image has the user's name for another uid: no passwd entry added", "passwd", conflict)
	case out != nil:
		files = append(files, etcFile{"passwd", out})
	}
	if group != "" {
		out, conflict := addLine(img.group, fmt.Sprintf("%s:x:%d:", group, r.GID), group, r.GID)
		switch {
		case conflict != "":
			log.Debug("the image has the group's name for another gid: no group entry added", "group", conflict)
		case out != nil:
			files = append(files, etcFile{"group", out})
		}
	}
	var mounts []mount.Mount
	for _, f := range files {
		path, err := e.keep(f)
		if err != nil {
			return mounts, err
		}
		mounts = append(mounts, mount.Mount{Type: mount.TypeBind, Source: path, Target: "/etc/" + f.name, ReadOnly: true})
	}
	return mounts, nil
}

// etcFile is a file of /etc to mount.
type etcFile struct {
	name string
	data []byte
}

// keep writes f into the files directory, once: its name is f's name and
// a digest of its content (passwd-3f2a…), and a file of that name is
// never changed. The file is root's, mode 0644, written aside and renamed
// into place, so that a container never mounts half a file.
func (e *Executor) keep(f etcFile) (string, error) {
	sum := sha256.Sum256(f.data)
	path := filepath.Join(e.files, f.name+"-"+hex.EncodeToString(sum[:16]))
	if _, err := os.Lstat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(e.files, 0o700); err != nil {
		return "", fmt.Errorf("create %s: %w", e.files, err)
	}
	tmp, err := os.CreateTemp(e.files, "."+f.name+"-*")
	if err != nil {
		return "", fmt.Errorf("write /etc/%s for the job: %w", f.name, err)
	}
	_, err = tmp.Write(f.data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return path, nil
}

// imageEtc is what an image's /etc says of users and groups.
type imageEtc struct {
	passwd, group []byte // nil: no such file
	groupErr      error  // the group file could not be read
}

// etcOf returns the users and groups of image: the first time, read
// from a container created from the image for that and never started,
// then from memory. An image does not change; the memory is keyed by the
// image's id, so a tag moved to another image is read again. A read that
// failed is not remembered. Concurrent first reads of one image read it
// once.
func (e *Executor) etcOf(ctx context.Context, image string) (*imageEtc, error) {
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
	v, err, _ := e.etcReads.Do(info.ID, func() (any, error) {
		img, err := e.readEtc(ctx, info.ID)
		if err != nil {
			return nil, fmt.Errorf("read users and groups of image %s: %w", image, err)
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
	})
	if err != nil {
		return nil, err
	}
	return v.(*imageEtc), nil
}

// readEtc reads the passwd and group files of the image id from a
// container that is created for it and removed, never started.
func (e *Executor) readEtc(ctx context.Context, id string) (*imageEtc, error) {
	labels := map[string]string{labelEtcReader: "1"}
	if e.installation != "" {
		labels[executor.LabelInstallation] = e.installation
	}
	c, err := e.cli.ContainerCreate(ctx,
		&container.Config{Image: id, Entrypoint: []string{"/bin/true"}, Labels: labels},
		&container.HostConfig{NetworkMode: "none"}, nil, nil, "")
	if err != nil {
		return nil, fmt.Errorf("create a container to read from: %w", err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := e.cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			slog.Warn("remove the container that read an image's users", "executor", e.name, "container", c.ID, "err", err)
		}
	}()
	img := &imageEtc{}
	if img.passwd, err = e.readFile(ctx, c.ID, "/etc/passwd"); err != nil {
		return nil, err
	}
	img.group, img.groupErr = e.readFile(ctx, c.ID, "/etc/group")
	return img, nil
}

// labelEtcReader marks the containers that only read an image's users.
const labelEtcReader = "org.godocker.etc-reader"

// staleEtcReader is the age past which a container that reads an image's
// users is left over: a godockerd killed while reading. A read takes
// well under a second; a younger one may be another process's, of the
// same installation, at work (removing it would make its files look
// absent).
var staleEtcReader = 10 * time.Minute

// sweepEtcReaders removes stale readers every e.stale until Close:
// those of a godockerd killed just before this one started are not stale
// yet when New looks.
func (e *Executor) sweepEtcReaders() {
	defer close(e.swept)
	t := time.NewTicker(e.stale)
	defer t.Stop()
	for {
		select {
		case <-e.closed:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			e.removeStaleEtcReaders(ctx)
			cancel()
		}
	}
}

// removeStaleEtcReaders removes the containers that read an image's users
// and were left over: those of this installation, or of none (made
// before installations had ids), older than e.stale. What it
// cannot remove is only logged: they cost disk space, nothing else.
func (e *Executor) removeStaleEtcReaders(ctx context.Context) {
	log := slog.With("executor", e.name)
	list, err := e.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", labelEtcReader))})
	if err != nil {
		log.Warn("list the containers left over from reading images' users", "err", err)
		return
	}
	for _, c := range list {
		inst, labelled := c.Labels[executor.LabelInstallation]
		if (labelled && inst != e.installation) || time.Since(time.Unix(c.Created, 0)) < e.stale {
			continue
		}
		if err := e.cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			log.Warn("remove a container left over from reading an image's users", "container", c.ID, "err", err)
			continue
		}
		log.Info("removed a container left over from reading an image's users", "container", c.ID)
	}
}

// readFile returns the content of a regular file in the container, nil if
// it does not exist (nor its directory).
func (e *Executor) readFile(ctx context.Context, name, path string) ([]byte, error) {
	rc, _, err := e.cli.CopyFromContainer(ctx, name, path)
	if cerrdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	h, err := tr.Next()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	switch {
	case h.Typeflag == tar.TypeSymlink:
		return nil, fmt.Errorf("read %s: a symbolic link to %s: left alone", path, h.Linkname)
	case h.Typeflag != tar.TypeReg:
		return nil, fmt.Errorf("read %s: not a regular file: left alone", path)
	case h.Size > maxEtcFile:
		return nil, fmt.Errorf("read %s: %d bytes, over the limit of %d: left alone", path, h.Size, maxEtcFile)
	}
	b, err := io.ReadAll(tr)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b, nil
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
