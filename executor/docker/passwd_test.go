package docker_test

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	imagetypes "github.com/docker/docker/api/types/image"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
	"github.com/godocker/godocker/executor/docker"
	"github.com/godocker/godocker/executor/executortest"
)

// whoAmI is a job's view of its identity and of the files that give it:
// each part goes to its own file in /out.
const whoAmI = `id -un >/out/id; id -gn >>/out/id; whoami >>/out/id; echo "$HOME" >>/out/id
cat /etc/passwd >/out/passwd; cat /etc/group >/out/group
stat -c '%a %u %g' /etc/passwd /etc/group >/out/stat`

// identity is what a whoAmI job wrote.
type identity struct{ id, passwd, group, stat string }

// runWhoAmI runs j's whoAmI and returns what it wrote.
func runWhoAmI(t *testing.T, ex *docker.Executor, j *api.Job) identity {
	t.Helper()
	dir := sharedDir(t)
	j.Run.Argv = []string{"sh", "-c", whoAmI}
	j.Run.Mounts = []api.Mount{{Source: dir, Target: "/out"}}
	if st := run(t, ex, j); st.ExitCode != 0 {
		t.Fatalf("exit code %d (%s)", st.ExitCode, st.Error)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	return identity{id: read("id"), passwd: read("passwd"), group: read("group"), stat: read("stat")}
}

// imageFile returns a file of img as the image has it, read from a
// container that never starts.
func imageFile(t *testing.T, ex *docker.Executor, img, path string) string {
	t.Helper()
	cli := ex.Client()
	c, err := cli.ContainerCreate(ctx(t), &container.Config{Image: img, Cmd: []string{"true"}}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer cli.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true})
	rc, _, err := cli.CopyFromContainer(ctx(t), c.ID, path)
	if err != nil {
		t.Fatalf("%s of %s: %v", path, img, err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	if _, err := tr.Next(); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(tr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// derivedImage commits what script, run as root in the test image, makes
// of it, and removes that image when the test ends. It needs no registry.
func derivedImage(t *testing.T, ex *docker.Executor, script string) string {
	t.Helper()
	cli := ex.Client()
	tag := fmt.Sprintf("godocker/test-%d:latest", executortest.NewID())
	c, err := cli.ContainerCreate(ctx(t), &container.Config{Image: image, Cmd: []string{"sh", "-c", script}, User: "0:0"}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer cli.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true})
	wait, errs := cli.ContainerWait(ctx(t), c.ID, container.WaitConditionNextExit)
	if err := cli.ContainerStart(ctx(t), c.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case w := <-wait:
		if w.StatusCode != 0 {
			t.Fatalf("%q in %s: exit code %d", script, image, w.StatusCode)
		}
	case err := <-errs:
		t.Fatal(err)
	}
	if _, err := cli.ContainerCommit(ctx(t), c.ID, container.CommitOptions{Reference: tag}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := cli.ImageRemove(context.Background(), tag, imagetypes.RemoveOptions{Force: true, PruneChildren: true}); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return tag
}

// firstUser returns the first line of a passwd or group file whose id is
// not 0, split into its fields.
func firstUser(t *testing.T, file string) []string {
	t.Helper()
	for l := range strings.SplitSeq(file, "\n") {
		if f := strings.Split(l, ":"); len(f) >= 3 && f[2] != "0" {
			return f
		}
	}
	t.Fatalf("no line other than root's in %q", file)
	return nil
}

// TestUserName: a user job's uid and gid have names in its container,
// from lines added to the image's passwd and group files.
func TestUserName(t *testing.T) {
	t.Parallel()
	ex := engine(t)
	passwd, group := imageFile(t, ex, image, "/etc/passwd"), imageFile(t, ex, image, "/etc/group")
	if !strings.HasSuffix(passwd, "\n") || !strings.HasSuffix(group, "\n") {
		t.Fatalf("test image's passwd %q and group %q: want files that end with a newline", passwd, group)
	}
	other, otherGroup := firstUser(t, passwd), firstUser(t, group) // nobody, nogroup

	t.Run("user", func(t *testing.T) {
		t.Parallel()
		got := runWhoAmI(t, ex, newJob())
		want := identity{
			id:     "tester\ntesters\ntester\n/home/tester\n",
			passwd: passwd + fmt.Sprintf("tester:x:%d:%d:GoDocker user:/home/tester:/bin/sh\n", uid, gid),
			group:  group + fmt.Sprintf("testers:x:%d:\n", gid),
			stat:   "644 0 0\n644 0 0\n",
		}
		if got != want {
			t.Errorf("user job sees\n%+v\nwant (the image's lines, then the user's)\n%+v", got, want)
		}
	})
	t.Run("root", func(t *testing.T) {
		t.Parallel()
		j := newJob()
		j.Run.UID, j.Run.GID, j.Run.Groups, j.Run.User, j.Run.Group, j.Run.Home = 0, 0, nil, "", "", ""
		got := runWhoAmI(t, ex, j)
		if want := (identity{id: "root\nroot\nroot\n/root\n", passwd: passwd, group: group, stat: "644 0 0\n644 0 0\n"}); got != want {
			t.Errorf("root job sees\n%+v\nwant the image's files\n%+v", got, want)
		}
	})
	t.Run("uid in image", func(t *testing.T) {
		t.Parallel()
		j := newJob()
		fmt.Sscan(other[2], &j.Run.UID)
		fmt.Sscan(otherGroup[2], &j.Run.GID)
		j.Run.Groups = nil
		got := runWhoAmI(t, ex, j)
		if !strings.HasPrefix(got.id, other[0]+"\n"+otherGroup[0]+"\n") || got.passwd != passwd || got.group != group {
			t.Errorf("job of uid %s:%s, which the image has as %s:%s, sees\n%+v\nwant the image's names and files", other[2], otherGroup[2], other[0], otherGroup[0], got)
		}
	})
	t.Run("name in image", func(t *testing.T) {
		t.Parallel()
		j := newJob()
		j.Run.User, j.Run.Group = other[0], otherGroup[0]
		got := runWhoAmI(t, ex, j)
		if got.passwd != passwd || got.group != group {
			t.Errorf("job named %s:%s, names the image has for other ids, sees\npasswd %q\ngroup %q\nwant the image's files", other[0], otherGroup[0], got.passwd, got.group)
		}
	})
	t.Run("bad user name", func(t *testing.T) {
		t.Parallel()
		j := newJob()
		j.Run.User = "bad:name"
		got := runWhoAmI(t, ex, j)
		if got.passwd != passwd || got.group != group {
			t.Errorf("job of user %q sees\npasswd %q\ngroup %q\nwant the image's files", j.Run.User, got.passwd, got.group)
		}
	})
	t.Run("bad group name", func(t *testing.T) {
		t.Parallel()
		j := newJob()
		j.Run.Group = "bad\nname"
		got := runWhoAmI(t, ex, j)
		wantPasswd := passwd + fmt.Sprintf("tester:x:%d:%d:GoDocker user:/home/tester:/bin/sh\n", uid, gid)
		if got.passwd != wantPasswd || got.group != group {
			t.Errorf("job of group %q sees\npasswd %q\ngroup %q\nwant\npasswd %q\ngroup %q (the image's)", j.Run.Group, got.passwd, got.group, wantPasswd, group)
		}
	})
	t.Run("no group name", func(t *testing.T) {
		t.Parallel()
		j := newJob()
		j.Run.Group, j.Run.Home = "", ""
		got := runWhoAmI(t, ex, j)
		wantPasswd := passwd + fmt.Sprintf("tester:x:%d:%d:GoDocker user:/:/bin/sh\n", uid, gid)
		if got.passwd != wantPasswd || got.group != group {
			t.Errorf("job with no group name or home sees\npasswd %q\ngroup %q\nwant\npasswd %q\ngroup %q", got.passwd, got.group, wantPasswd, group)
		}
	})
}

// TestUserNameNoPasswd: an image with no passwd or group file gets both,
// with the user's and group's lines only.
func TestUserNameNoPasswd(t *testing.T) {
	t.Parallel()
	ex := engine(t)
	j := newJob()
	j.Run.Image = derivedImage(t, ex, "rm /etc/passwd /etc/group")
	got := runWhoAmI(t, ex, j)
	want := identity{
		id:     "tester\ntesters\ntester\n/home/tester\n",
		passwd: fmt.Sprintf("tester:x:%d:%d:GoDocker user:/home/tester:/bin/sh\n", uid, gid),
		group:  fmt.Sprintf("testers:x:%d:\n", gid),
		stat:   "644 0 0\n644 0 0\n",
	}
	if got != want {
		t.Errorf("user job in an image without /etc/passwd and /etc/group sees\n%+v\nwant\n%+v", got, want)
	}
}

// TestUserNameSymlink: a passwd or group file that is a symbolic link is
// left alone, and the job starts all the same; a group file that is one
// does not cost the user their passwd entry.
func TestUserNameSymlink(t *testing.T) {
	t.Parallel()
	ex := engine(t)
	passwd, group := imageFile(t, ex, image, "/etc/passwd"), imageFile(t, ex, image, "/etc/group")
	t.Run("passwd", func(t *testing.T) {
		t.Parallel()
		j := newJob()
		j.Run.Image = derivedImage(t, ex, "mv /etc/passwd /etc/passwd.real && ln -s passwd.real /etc/passwd")
		if got := runWhoAmI(t, ex, j); got.passwd != passwd {
			t.Errorf("user job in an image whose /etc/passwd is a symbolic link sees passwd %q, want the image's %q", got.passwd, passwd)
		}
	})
	t.Run("group", func(t *testing.T) {
		t.Parallel()
		j := newJob()
		j.Run.Image = derivedImage(t, ex, "mv /etc/group /etc/group.real && ln -s group.real /etc/group")
		got := runWhoAmI(t, ex, j)
		wantPasswd := passwd + fmt.Sprintf("tester:x:%d:%d:GoDocker user:/home/tester:/bin/sh\n", uid, gid)
		if got.passwd != wantPasswd || got.group != group {
			t.Errorf("user job in an image whose /etc/group is a symbolic link sees\npasswd %q\ngroup %q\nwant\npasswd %q\ngroup %q (the image's)", got.passwd, got.group, wantPasswd, group)
		}
	})
}

// TestUserNameOnce: a second Start of a job (a server that stopped
// between creating and starting its container starts it again) adds no
// second line; the files are mounted read-only, and two jobs of one user
// and image mount the same files.
func TestUserNameOnce(t *testing.T) {
	t.Parallel()
	ex := engine(t)
	j := newJob("sleep", "300")
	t.Cleanup(func() { ex.Remove(context.Background(), j) })
	ev := executortest.Watch(t, ex)
	for range 2 {
		if err := ex.Start(ctx(t), j, executor.Placement{}); err != nil {
			t.Fatal(err)
		}
	}
	ev.Expect(t, j, executor.Started)
	out, _, code := execute(t, ex, j, executor.ExecRequest{Cmd: []string{"sh", "-c", "grep -c ^tester: /etc/passwd; grep -c ^testers: /etc/group; whoami; echo x >>/etc/passwd && echo written"}}, "")
	if out != "1\n1\ntester\n" || code == 0 {
		t.Errorf("tester's lines in passwd and group, whoami, then a write to /etc/passwd: %q, exit %d; want one each, tester, and the write refused", out, code)
	}

	other := newJob("sleep", "300")
	start(t, ex, other)
	sources := func(j *api.Job) map[string]string {
		c, err := ex.Client().ContainerInspect(ctx(t), executor.ContainerName("", j))
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, mt := range c.Mounts {
			if strings.HasPrefix(mt.Destination, "/etc/") {
				m[mt.Destination] = mt.Source
				if mt.RW {
					t.Errorf("%s is mounted read-write", mt.Destination)
				}
			}
		}
		return m
	}
	a, b := sources(j), sources(other)
	if len(a) != 2 || a["/etc/passwd"] != b["/etc/passwd"] || a["/etc/group"] != b["/etc/group"] {
		t.Errorf("two jobs of one user and image mount %v and %v; want the same two files", a, b)
	}
}

// TestUserNameSameImage: jobs of two users from one image, started one
// after the other by one executor (the second from the image's files as
// the first read them), each find their own line and not the other's.
func TestUserNameSameImage(t *testing.T) {
	t.Parallel()
	ex := engine(t)
	ann := newJob()
	ann.Run.User, ann.Run.UID, ann.Run.Group, ann.Run.GID, ann.Run.Home = "ann", uid+1, "anns", gid+1, "/home/ann"
	ann.UID, ann.GID = ann.Run.UID, ann.Run.GID
	tester := newJob()
	base := imageFile(t, ex, image, "/etc/passwd")
	for _, j := range []*api.Job{ann, tester} {
		got := runWhoAmI(t, ex, j)
		want := base + fmt.Sprintf("%s:x:%d:%d:GoDocker user:%s:/bin/sh\n", j.Run.User, j.Run.UID, j.Run.GID, j.Run.Home)
		if got.passwd != want {
			t.Errorf("/etc/passwd of %s's job:\n%s\nwant\n%s", j.Run.User, got.passwd, want)
		}
		if !strings.HasPrefix(got.id, j.Run.User+"\n"+j.Run.Group+"\n") {
			t.Errorf("id -un, id -gn of %s's job: %q", j.Run.User, got.id)
		}
	}
}
