package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/godocker/godocker/api"
)

// gateway is a godockerd with its SSH gateway on a port of its own, and
// the keys the test's ssh clients use.
type gateway struct {
	*server
	port string
	keys string // a root-only directory of private keys
}

func startGateway(t *testing.T, extraConfig string) *gateway {
	t.Helper()
	port := freePort(t)
	s := startServer(t, fmt.Sprintf("ssh_gateway:\n  listen: 127.0.0.1:%s\n  host: 127.0.0.1\n%s", port, extraConfig))
	return &gateway{server: s, port: port, keys: t.TempDir()}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// newKey makes an ed25519 key pair and returns the private key's path and
// the public key's line.
func (g *gateway) newKey(name string) (string, string) {
	g.t.Helper()
	path := filepath.Join(g.keys, name)
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path).CombinedOutput(); err != nil {
		g.t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	return path, readFile(g.t.(*testing.T), path+".pub")
}

// sshOptions are those of every ssh and sftp the tests run: the given key
// only, no host key check, no configuration, never a prompt.
func sshOptions(key string) []string {
	return []string{"-i", key, "-F", "/dev/null", "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=20"}
}

// ssh runs the real OpenSSH client with key as login, with stdin.
func (g *gateway) ssh(key, login, stdin string, args ...string) result {
	g.t.Helper()
	argv := append(sshOptions(key), "-p", g.port)
	argv = append(argv, args...)
	if i := indexOf(argv, "--"); i >= 0 { // options after the key's, then login@host, then the command
		argv = append(append(append([]string{}, argv[:i]...), login+"@127.0.0.1"), argv[i+1:]...)
	} else {
		argv = append(argv, login+"@127.0.0.1")
	}
	return g.client("ssh", stdin, argv...)
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func (g *gateway) client(name, stdin string, argv ...string) result {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, argv...)
	cmd.Env = []string{"HOME=" + g.keys, "PATH=/usr/bin:/bin"}
	return runCmd(g.t, cmd, stdin)
}

// interactive submits an interactive job as a and waits for it to run.
func (g *gateway) interactive(a account, args ...string) int64 {
	g.t.Helper()
	id := g.submit(a, "", append([]string{"-I"}, args...)...)
	g.waitState(id, api.Running)
	return id
}

func job(id int64) string { return "job-" + strconv.FormatInt(id, 10) }

// TestSSHIntoInteractiveJob: a user submits gsub -I and enters the job
// with the real ssh client: commands run as them with their exit status,
// input and output pass, ports inside the job are reachable with -L and
// sftp opens the job directory.
func TestSSHIntoInteractiveJob(t *testing.T) {
	g := startGateway(t, "")
	alice := lookup(t, "gdtest-alice")
	key, pub := g.newKey("alice")
	pubFile := filepath.Join(alice.home, "gdtest-key.pub")
	if err := os.WriteFile(pubFile, []byte(pub), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(pubFile) })
	if r := g.run(alice, "", "gctl", "key", "add", pubFile); r.code != 0 {
		t.Fatalf("gctl key add: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}

	r := g.run(alice, "", "gsub", "-I", "-l", "h_rt=600")
	if r.code != 0 || !strings.Contains(r.stdout, "enter it with: ssh -p "+g.port+" job-") {
		t.Fatalf("gsub -I: exit %d, stdout %q, stderr %q; want the ssh command", r.code, r.stdout, r.stderr)
	}
	id, err := strconv.ParseInt(strings.Fields(r.stdout)[2], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	j := g.waitState(id, api.Running)
	if r := g.run(alice, "", "gstat", "-j", strconv.FormatInt(id, 10)); !strings.Contains(r.stdout, fmt.Sprintf("enter it with ssh -p %s %s@127.0.0.1", g.port, job(id))) {
		t.Errorf("gstat -j of the running interactive job does not say how to enter it:\n%s", r.stdout)
	}

	// A command: the job's uid, its directory, its exit status.
	if r := g.ssh(key, job(id), "", "--", "id -u; pwd"); r.code != 0 || r.stdout != fmt.Sprintf("%d\n%s\n", alice.uid, j.Dir) {
		t.Errorf("ssh %s 'id -u; pwd': exit %d, stdout %q, stderr %q; want %d and %s", job(id), r.code, r.stdout, r.stderr, alice.uid, j.Dir)
	}
	if r := g.ssh(key, job(id), "", "--", "echo out; echo err >&2; exit 3"); r.code != 3 || r.stdout != "out\n" || r.stderr != "err\n" {
		t.Errorf("ssh 'exit 3': exit %d, stdout %q, stderr %q; want 3, out, err", r.code, r.stdout, r.stderr)
	}
	if r := g.ssh(key, job(id), "hello from stdin\n", "--", "cat"); r.code != 0 || r.stdout != "hello from stdin\n" {
		t.Errorf("ssh cat: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// A login shell under a terminal (ssh -tt): commands from the input.
	r = g.ssh(key, job(id), "echo tty=$(tty | cut -c1-8) uid=$(id -u)\nexit 4\n", "-tt", "--")
	if r.code != 4 || !strings.Contains(r.stdout, fmt.Sprintf("tty=/dev/pts uid=%d", alice.uid)) {
		t.Errorf("ssh -tt (login shell): exit %d, stdout %q, stderr %q; want a terminal, alice's uid, exit 4", r.code, r.stdout, r.stderr)
	}
	// Agent forwarding: nothing reaches the job.
	if r := g.ssh(key, job(id), "", "-A", "--", `echo "[$SSH_AUTH_SOCK]"`); r.stdout != "[]\n" {
		t.Errorf("ssh -A: %q; want no agent socket in the job", r.stdout)
	}

	// -L: a web server on the job's localhost only.
	serve := "mkdir -p /tmp/www && echo hi-from-the-job >/tmp/www/index.html && httpd -p 127.0.0.1:8888 -h /tmp/www"
	if r := g.ssh(key, job(id), "", "--", serve); r.code != 0 {
		t.Fatalf("start httpd in the job: exit %d: %s", r.code, r.stderr)
	}
	local := freePort(t)
	fwd := exec.Command("ssh", append(append(sshOptions(key), "-p", g.port, "-N", "-L", local+":localhost:8888"), job(id)+"@127.0.0.1")...)
	fwd.Env = []string{"HOME=" + g.keys, "PATH=/usr/bin:/bin"}
	var fwdErr strings.Builder
	fwd.Stderr = &fwdErr
	if err := fwd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fwd.Process.Kill(); fwd.Wait() })
	body := ""
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get("http://127.0.0.1:" + local + "/"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if body = string(b); body != "" {
				break
			}
		}
	}
	if body != "hi-from-the-job\n" {
		t.Errorf("GET through ssh -L %s:localhost:8888: %q; want the job's page (ssh: %s)", local, body, fwdErr.String())
	}
	// Only the job's localhost (ssh -W opens the same channels as -L): not
	// the host's, not another address.
	if r := g.ssh(key, job(id), "GET / HTTP/1.0\r\n\r\n", "-W", "localhost:8888", "--"); !strings.Contains(r.stdout, "hi-from-the-job") {
		t.Errorf("ssh -W localhost:8888: exit %d, stdout %q, stderr %q; want the job's page", r.code, r.stdout, r.stderr)
	}
	for _, dest := range []string{"10.1.2.3:80", "example.org:80", "172.17.0.1:" + g.port, "127.0.0.2:8888"} {
		if r := g.ssh(key, job(id), "GET / HTTP/1.0\r\n\r\n", "-W", dest, "--"); r.code != 255 || !strings.Contains(r.stderr, "forwarding failed") {
			t.Errorf("ssh -W %s: exit %d, stdout %q, stderr %q; want the channel refused", dest, r.code, r.stdout, r.stderr)
		}
	}
	// -R is refused.
	if r := g.ssh(key, job(id), "", "-o", "ExitOnForwardFailure=yes", "-R", "9999:localhost:22", "--", "true"); r.code != 255 {
		t.Errorf("ssh -R: exit %d, stderr %q; want 255 (remote forwarding refused)", r.code, r.stderr)
	}

	// sftp: the job directory, as alice.
	local = filepath.Join(g.keys, "upload.txt")
	if err := os.WriteFile(local, []byte("uploaded\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	batch := fmt.Sprintf("put %s up.txt\nls\n", local)
	r = g.client("sftp", batch, append(sshOptions(key), "-P", g.port, "-b", "-", job(id)+"@127.0.0.1")...)
	if r.code != 0 {
		t.Fatalf("sftp put: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	up := filepath.Join(j.Dir, "up.txt")
	if got := readFile(t, up); got != "uploaded\n" {
		t.Errorf("uploaded file holds %q", got)
	}
	if uid := ownerOf(t, up); uid != alice.uid {
		t.Errorf("uploaded file is owned by uid %d; want alice's %d", uid, alice.uid)
	}
	// Nothing outside the job directory.
	for _, path := range []string{"/etc/passwd", "../../../../etc/passwd", filepath.Join(alice.home, ".profile")} {
		r = g.client("sftp", fmt.Sprintf("get %s %s\n", path, filepath.Join(g.keys, "stolen")), append(sshOptions(key), "-P", g.port, "-b", "-", job(id)+"@127.0.0.1")...)
		if _, err := os.Stat(filepath.Join(g.keys, "stolen")); r.code == 0 || err == nil {
			t.Errorf("sftp get %s: exit %d; want it refused, nothing downloaded", path, r.code)
		}
	}

	// A client that goes away hangs up the process it ran, as a terminal
	// would.
	hup := exec.Command("ssh", append(append(sshOptions(key), "-p", g.port, job(id)+"@127.0.0.1"),
		`trap "echo hung-up >hup; exit 1" HUP; echo ready; while :; do sleep 1; done`)...)
	hup.Env = []string{"HOME=" + g.keys, "PATH=/usr/bin:/bin"}
	ready, err := hup.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := hup.Start(); err != nil {
		t.Fatal(err)
	}
	line := make([]byte, 6)
	if _, err := io.ReadFull(ready, line); err != nil || string(line) != "ready\n" {
		t.Fatalf("the hang-up session did not start: %q %v", line, err)
	}
	hup.Process.Kill()
	hup.Wait()
	var got string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && got == ""; time.Sleep(100 * time.Millisecond) {
		b, _ := os.ReadFile(filepath.Join(j.Dir, "hup"))
		got = string(b)
	}
	if got != "hung-up\n" {
		t.Errorf("after the ssh client was killed, the process in the job got no SIGHUP (file hup: %q)", got)
	}

	// ssh alice@host: her jobs, and how to enter them.
	r = g.ssh(key, "gdtest-alice", "", "--")
	if r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("enter: ssh -p %s %s@127.0.0.1", g.port, job(id))) {
		t.Errorf("ssh gdtest-alice@: exit %d, stdout %q, stderr %q; want her job with its ssh command", r.code, r.stdout, r.stderr)
	}

	// gdel ends it, and with it the way in.
	if r := g.run(alice, "", "gdel", strconv.FormatInt(id, 10)); r.code != 0 {
		t.Fatalf("gdel: %s%s", r.stdout, r.stderr)
	}
	g.waitState(id, api.Killed)
	if r := g.ssh(key, job(id), "", "--", "true"); r.code != 1 || !strings.Contains(r.stderr, "has ended") {
		t.Errorf("ssh into the deleted job: exit %d, stderr %q; want 1 and why", r.code, r.stderr)
	}
}

// TestSSHRefusals tries the attacks on the gateway with the real client.
func TestSSHRefusals(t *testing.T) {
	g := startGateway(t, "")
	alice, bob := lookup(t, "gdtest-alice"), lookup(t, "gdtest-bob")
	aliceKey, alicePub := g.newKey("alice")
	if r := g.run(alice, alicePub, "gctl", "key", "add", "-"); r.code != 0 {
		t.Fatalf("gctl key add -: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	// Bob's key comes from his authorized_keys.
	bobKey, bobPub := g.newKey("bob")
	sshDir := filepath.Join(bob.home, ".ssh")
	if err := os.MkdirAll(sshDir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sshDir) })
	authorized := filepath.Join(sshDir, "authorized_keys")
	if err := os.WriteFile(authorized, []byte("# bob's\n"+bobPub), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{sshDir, authorized} {
		if err := os.Chown(p, bob.uid, bob.gid); err != nil {
			t.Fatal(err)
		}
	}
	strangerKey, _ := g.newKey("stranger")

	aliceJob := g.interactive(alice)
	bobJob := g.interactive(bob)
	if r := g.ssh(bobKey, job(bobJob), "", "--", "id -u"); r.code != 0 || strings.TrimSpace(r.stdout) != strconv.Itoa(bob.uid) {
		t.Fatalf("bob with the key of his authorized_keys: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}

	denied := func(what string, r result) {
		t.Helper()
		if r.code != 255 || !strings.Contains(r.stderr, "Permission denied (publickey)") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want ssh's permission denied", what, r.code, r.stdout, r.stderr)
		}
	}
	denied("bob's key into alice's job", g.ssh(bobKey, job(aliceJob), "", "--", "id -u"))
	denied("alice's key into bob's job", g.ssh(aliceKey, job(bobJob), "", "--", "id -u"))
	denied("an unregistered key", g.ssh(strangerKey, job(aliceJob), "", "--", "id -u"))
	denied("alice's key as bob", g.ssh(aliceKey, "gdtest-bob", "", "--"))
	denied("alice's key as root", g.ssh(aliceKey, "root", "", "--"))
	// Agent and X11 forwarding requests are answered no (OpenSSH's client
	// does not say when they are refused: ask with Go's).
	c, err := g.goClient(aliceKey, job(aliceJob))
	if err != nil {
		t.Fatal(err)
	}
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range []string{"auth-agent-req@openssh.com", "x11-req"} {
		if ok, err := sess.SendRequest(req, true, nil); ok || err != nil {
			t.Errorf("%s: accepted %v, %v; want refused", req, ok, err)
		}
	}
	sess.Close()
	c.Close()
	denied("a job that does not exist", g.ssh(aliceKey, "job-999999", "", "--", "true"))
	for _, login := range []string{"job-../x", "job-0", "job-" + strconv.FormatInt(aliceJob, 10) + "/..", "../../etc", "job-01", "job-1.0"} {
		denied("login "+login, g.ssh(aliceKey, login, "", "--", "id"))
	}
	// Names OpenSSH's client will not even send: through Go's client.
	for _, login := range []string{"job-" + strconv.FormatInt(aliceJob, 10) + ";id", "job-1 id", "$(id)", "job-1\nid", ""} {
		if out, err := g.goSSH(aliceKey, login, "id"); err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
			t.Errorf("login %q through Go's ssh client: %v, %q; want authentication refused", login, err, out)
		}
	}
	// Passwords and keyboard-interactive are not offered.
	r := g.ssh(aliceKey, job(aliceJob), "", "-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password,keyboard-interactive", "--", "true")
	if r.code != 255 || !strings.Contains(r.stderr, "Permission denied (publickey)") {
		t.Errorf("password auth: exit %d, stderr %q; want only publickey offered", r.code, r.stderr)
	}
	// A key with options in authorized_keys is not taken: the gateway
	// cannot honour a forced command.
	if err := os.WriteFile(authorized, []byte(`command="/bin/true" `+bobPub), 0o600); err != nil {
		t.Fatal(err)
	}
	denied("bob's key restricted to a command", g.ssh(bobKey, job(bobJob), "", "--", "id -u"))
	// Nor a group-writable authorized_keys.
	if err := os.WriteFile(authorized, []byte(bobPub), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(authorized, 0o620); err != nil {
		t.Fatal(err)
	}
	denied("a group-writable authorized_keys", g.ssh(bobKey, job(bobJob), "", "--", "id -u"))

	// Once his job is deleted, bob cannot enter it either.
	if r := g.run(bob, "", "gdel", strconv.FormatInt(bobJob, 10)); r.code != 0 {
		t.Fatalf("gdel: %s%s", r.stdout, r.stderr)
	}
	g.waitState(bobJob, api.Killed)

	// Alice's own jobs that may not be entered say why.
	refused := func(id int64, why string) {
		t.Helper()
		if r := g.ssh(aliceKey, job(id), "", "--", "id -u"); r.code != 1 || !strings.Contains(r.stderr, why) || r.stdout != "" {
			t.Errorf("alice into her job %d: exit %d, stdout %q, stderr %q; want 1 and %q", id, r.code, r.stdout, r.stderr, why)
		}
	}
	held := g.submit(alice, "", "-I", "-h")
	refused(held, "has not started yet")
	batch := g.submit(alice, "sleep 300\n")
	g.waitState(batch, api.Running)
	refused(batch, "batch job")
	if r := g.run(alice, "", "gdel", strconv.FormatInt(batch, 10)); r.code != 0 {
		t.Fatalf("gdel: %s%s", r.stdout, r.stderr)
	}
	g.waitState(batch, api.Killed)
	refused(batch, "has ended")
}

// TestSSHAdminsAndBatchJobs: where the site allows it, users enter their
// batch jobs and admins enter users' jobs, still as the job's user.
func TestSSHAdminsAndBatchJobs(t *testing.T) {
	g := startGateway(t, "  admins: true\n  batch_jobs: true\n")
	alice, root := lookup(t, "gdtest-alice"), lookup(t, "root")
	aliceKey, alicePub := g.newKey("alice")
	rootKey, rootPub := g.newKey("root")
	for a, pub := range map[*account]string{&alice: alicePub, &root: rootPub} {
		if r := g.run(*a, pub, "gctl", "key", "add", "-"); r.code != 0 {
			t.Fatalf("gctl key add as %s: %s%s", a.name, r.stdout, r.stderr)
		}
	}
	batch := g.submit(alice, "sleep 300\n")
	g.waitState(batch, api.Running)
	for who, key := range map[string]string{"alice": aliceKey, "an admin": rootKey} {
		if r := g.ssh(key, job(batch), "", "--", "id -u"); r.code != 0 || strings.TrimSpace(r.stdout) != strconv.Itoa(alice.uid) {
			t.Errorf("%s into alice's batch job: exit %d, stdout %q, stderr %q; want alice's uid %d", who, r.code, r.stdout, r.stderr, alice.uid)
		}
	}
}

// goSSH runs cmd as login with Go's SSH client, which sends any user name.
func (g *gateway) goSSH(key, login, cmd string) (string, error) {
	c, err := g.goClient(key, login)
	if err != nil {
		return "", err
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	out, err := s.CombinedOutput(cmd)
	return string(out), err
}

// goClient connects as login with key through Go's SSH client.
func (g *gateway) goClient(key, login string) (*gossh.Client, error) {
	b, err := os.ReadFile(key)
	if err != nil {
		return nil, err
	}
	signer, err := gossh.ParsePrivateKey(b)
	if err != nil {
		return nil, err
	}
	return gossh.Dial("tcp", "127.0.0.1:"+g.port, &gossh.ClientConfig{
		User:            login,
		Auth:            []gossh.AuthMethod{gossh.PublicKeys(signer)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), // the test's own server
		Timeout:         20 * time.Second,
	})
}

// TestSSHTerminal: under a real terminal (tmux), ssh job-N@HOST opens a
// login shell that sees the terminal's size and its changes, is
// interrupted by Ctrl-C like any shell, and passes its exit status back.
func TestSSHTerminal(t *testing.T) {
	g := startGateway(t, "")
	alice := lookup(t, "gdtest-alice")
	key, pub := g.newKey("alice")
	if r := g.run(alice, pub, "gctl", "key", "add", "-"); r.code != 0 {
		t.Fatalf("gctl key add: %s%s", r.stdout, r.stderr)
	}
	id := g.interactive(alice)

	status := filepath.Join(g.keys, "status")
	ssh := "ssh " + strings.Join(append(sshOptions(key), "-p", g.port, "-tt", job(id)+"@127.0.0.1"), " ")
	term := newTerminal(t, "env HOME="+g.keys+" "+ssh+"; echo $? >"+status+"; sleep 600", 80, 24)

	term.typeLine("echo size=$(stty size) uid=$(id -u)")
	term.shows(fmt.Sprintf("size=24 80 uid=%d", alice.uid))
	// The resize travels tmux → ssh (SIGWINCH) → the gateway → the engine;
	// a line typed meanwhile may still see the old size: ask again until
	// the new one shows, or fail after the deadline.
	term.resize(120, 40)
	term.typeLine("echo size=$(stty size)")
	term.waitFor(`"size=40 120"`, 30*time.Second, func(sc string) bool {
		if strings.Contains(sc, "size=40 120") {
			return true
		}
		term.typeLine("clear; echo size=$(stty size)")
		time.Sleep(400 * time.Millisecond)
		return false
	})
	term.typeLine("sleep 300")
	time.Sleep(500 * time.Millisecond)
	term.keys("C-c")
	term.typeLine("echo after-sleep=$?")
	term.shows("after-sleep=130") // 128 + SIGINT: the sleep was interrupted
	term.typeLine("exit 6")
	var code string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && code == ""; time.Sleep(100 * time.Millisecond) {
		b, _ := os.ReadFile(status)
		code = strings.TrimSpace(string(b))
	}
	if code != "6" {
		t.Errorf("ssh exited with %q after exit 6 in the job; want 6", code)
	}
}
