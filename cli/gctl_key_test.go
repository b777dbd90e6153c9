package cli

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/godocker/godocker/api"
)

// testKey is the authorized_keys line of the ed25519 key made from seed,
// with comment if any, and its fingerprint.
func testKey(t *testing.T, seed byte, comment string) (line, fingerprint string) {
	t.Helper()
	s := make([]byte, ed25519.SeedSize)
	s[0] = seed
	pub, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(s).Public())
	if err != nil {
		t.Fatal(err)
	}
	line = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	if comment != "" {
		line += " " + comment
	}
	return line, ssh.FingerprintSHA256(pub)
}

// writeFile writes content to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// withStdin makes content what gctl key reads for "-" during the test.
func withStdin(t *testing.T, content string) {
	t.Helper()
	saved := stdin
	stdin = strings.NewReader(content)
	t.Cleanup(func() { stdin = saved })
}

func TestGctlKeyAdd(t *testing.T) {
	dir := t.TempDir()
	laptop, laptopFP := testKey(t, 1, "alice@laptop")
	desktop, desktopFP := testKey(t, 2, "")
	work, workFP := testKey(t, 3, "alice@work")
	pub := writeFile(t, dir, "id_ed25519.pub", laptop+"\n")
	// An authorized_keys file: comments, blank lines, and a line with
	// options, which the server refuses; the other lines still go.
	auth := writeFile(t, dir, "authorized_keys", "# my keys\n\n"+desktop+"\n"+`command="ls" `+work+"\n  "+work+"  \n")

	f := newFake("alice")
	r := gctl(f, "key", "add", pub, auth)
	golden(t, "gctl-key-add", r.stdout)
	if want := "gctl: " + auth + ":4: options are not supported: register the bare key (TYPE BASE64 COMMENT)\n"; r.code != 1 || r.stderr != want {
		t.Errorf("gctl key add with a refused line: exit %d, stderr %q; want 1, %q", r.code, r.stderr, want)
	}
	for i, fp := range []string{laptopFP, desktopFP, workFP} {
		if len(f.keys) != 3 || f.keys[i].Fingerprint != fp || f.keys[i].User != "alice" {
			t.Fatalf("registered keys %+v; want the laptop's, desktop's and work's, alice's", f.keys)
		}
	}
	if f.keys[0].Comment != "alice@laptop" || f.keys[0].Key != strings.TrimSuffix(laptop, " alice@laptop") {
		t.Errorf("registered key = %+v; want the key without its comment and the comment apart", f.keys[0])
	}

	// Again: already registered, said so, exit 1.
	if r := gctl(f, "key", "add", pub); r.code != 1 || r.stderr != "gctl: "+pub+":1: key "+laptopFP+" is already registered for alice: gctl key list shows it\n" {
		t.Errorf("adding a key twice: exit %d, %q", r.code, r.stderr)
	}

	// Standard input, options after the operand.
	withStdin(t, laptop+"\n")
	f = newFake("root")
	f.admin = true
	if out := gctlOK(t, f, "key", "add", "-", "-u", "bob"); out != "added "+laptopFP+" (ssh-ed25519, alice@laptop) for bob\n" {
		t.Errorf("gctl key add - -u bob printed %q", out)
	}
}

func TestGctlKeyAddErrors(t *testing.T) {
	dir := t.TempDir()
	line, _ := testKey(t, 1, "")
	private := writeFile(t, dir, "id_ed25519", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n")
	writeFile(t, dir, "id_ed25519.pub", line+"\n")
	pem := writeFile(t, dir, "id_rsa", "-----BEGIN RSA PRIVATE KEY-----\nMIIEow==\n-----END RSA PRIVATE KEY-----\n")
	empty := writeFile(t, dir, "empty.pub", "# nothing\n\n")
	good := filepath.Join(dir, "id_ed25519.pub")

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "gctl: missing FILE: which public key? e.g. ~/.ssh/id_ed25519.pub ('-': standard input)\nTry 'gctl key add --help' for more information.\n"},
		{[]string{private}, 1, "gctl: " + private + " is a private key: give " + private + ".pub\n"},
		{[]string{pem}, 1, "gctl: " + pem + " is a private key: give the .pub file\n"},
		{[]string{empty}, 1, "gctl: " + empty + " holds no SSH public key: give a .pub file, e.g. ~/.ssh/id_ed25519.pub\n"},
		{[]string{filepath.Join(dir, "nope.pub")}, 1, "gctl: " + filepath.Join(dir, "nope.pub") + ": no such file or directory\n"},
		// Nothing of a file without keys is sent (it could be anything).
		{[]string{"/etc/passwd"}, 1, "gctl: /etc/passwd holds no SSH public key: give a .pub file, e.g. ~/.ssh/id_ed25519.pub\n"},
		{[]string{"-u", "", good}, 2, "gctl: -u needs a user name\n"},
		{[]string{"-u", "*", good}, 2, "gctl: -u '*' (everybody) is for gctl key list: name one user\n"},
		{[]string{"-u", "bob", good}, 1, "gctl: " + good + ":1: alice may not register keys for bob: only admins may\n"},
	} {
		f := newFake("alice")
		r := gctl(f, append([]string{"key", "add"}, c.args...)...)
		if r.code != c.code || !strings.HasPrefix(r.stderr, c.want) || r.stdout != "" {
			t.Errorf("gctl key add %q: exit %d, stdout %q, stderr %q; want %d, %q", c.args, r.code, r.stdout, r.stderr, c.code, c.want)
		}
		if len(f.keys) != 0 {
			t.Errorf("gctl key add %q registered %+v", c.args, f.keys)
		}
	}

	// A bad file, or a bad line, does not stop the good ones.
	f := newFake("alice")
	if r := gctl(f, "key", "add", private, good); r.code != 1 || len(f.keys) != 1 || !strings.HasPrefix(r.stdout, "added ") {
		t.Errorf("gctl key add PRIVATE GOOD: exit %d, %q %q, keys %+v; want 1 and the good one added", r.code, r.stdout, r.stderr, f.keys)
	}
	mixed := writeFile(t, dir, "mixed", "not a key\n"+line+"\n")
	f = newFake("alice")
	if r := gctl(f, "key", "add", mixed); r.code != 1 || len(f.keys) != 1 || !strings.HasPrefix(r.stderr, "gctl: "+mixed+":1: not an SSH public key (") {
		t.Errorf("gctl key add MIXED: exit %d, %q %q, keys %+v; want 1, line 1 reported and line 2 added", r.code, r.stdout, r.stderr, f.keys)
	}
}

// keysFake is a fake server where alice, bob and carol registered keys;
// the caller is root, an admin unless admin is false.
func keysFake(t *testing.T, admin bool) *fake {
	t.Helper()
	f := newFake("root")
	f.admin = true
	for _, k := range []struct {
		user    string
		seed    byte
		comment string
	}{
		{"bob", 1, "bob@desktop"}, {"alice", 2, "alice@laptop"}, {"alice", 3, ""}, {"carol", 1, "same key as bob's"}, {"alice", 4, "alice@work"},
	} {
		line, _ := testKey(t, k.seed, k.comment)
		if _, err := f.AddKey(t.Context(), api.AddKeyRequest{User: k.user, Key: line}); err != nil {
			t.Fatal(err)
		}
	}
	f.admin = admin
	return f
}

func TestGctlKeyList(t *testing.T) {
	f := keysFake(t, true)
	golden(t, "gctl-key-list", gctlOK(t, f, "key", "list", "-u", "*"))
	golden(t, "gctl-key-list-json", gctlOK(t, f, "key", "list", "--json", "--user", "alice"))
	if out := gctlOK(t, f, "key", "list"); out != "no key registered: add yours with gctl key add ~/.ssh/id_ed25519.pub\n" {
		t.Errorf("gctl key list of a user without keys: %q", out)
	}
	if out := gctlOK(t, f, "key", "list", "-u", "dave"); out != "dave has no key registered\n" {
		t.Errorf("gctl key list -u dave: %q", out)
	}
	if out := gctlOK(t, newFake("root"), "key", "list", "--json"); out != "[]\n" {
		t.Errorf("gctl key list --json without keys: %q; want []", out)
	}

	// A user lists their own keys, not another's.
	f.me, f.admin = "bob", false
	if out := gctlOK(t, f, "key", "list"); !strings.Contains(out, "bob@desktop") || strings.Contains(out, "alice") || strings.Contains(out, "carol") {
		t.Errorf("bob's gctl key list:\n%s", out)
	}
	if r := gctl(f, "key", "list", "-u", "alice"); r.code != 1 || r.stderr != "gctl: bob may not list alice's keys: only admins may\n" {
		t.Errorf("bob listing alice's keys: exit %d %q", r.code, r.stderr)
	}
	if r := gctl(f, "key", "list", "extra"); r.code != 2 {
		t.Errorf("gctl key list extra: exit %d; want 2", r.code)
	}
}

func TestGctlKeyRm(t *testing.T) {
	dir := t.TempDir()
	f := keysFake(t, false)
	f.me = "alice"
	laptop, laptopFP := testKey(t, 2, "alice@laptop")
	_, thirdFP := testKey(t, 3, "")
	_, bobsFP := testKey(t, 1, "")
	pub := writeFile(t, dir, "laptop.pub", laptop+"\n")

	// By file and by fingerprint, options after the operands.
	if out := gctlOK(t, f, "key", "rm", pub, thirdFP); out != "removed "+laptopFP+" for alice\nremoved "+thirdFP+" for alice\n" {
		t.Errorf("gctl key rm FILE FINGERPRINT printed %q", out)
	}
	if len(f.keys) != 3 {
		t.Errorf("keys left: %+v; want bob's, carol's and alice's work key", f.keys)
	}

	// Gone already, somebody else's, not a key: said so, the rest done.
	_, workFP := testKey(t, 4, "")
	r := gctl(f, "key", "rm", laptopFP, bobsFP, filepath.Join(dir, "nope.pub"), "MD5:aa:bb", workFP)
	want := "gctl: no key " + laptopFP + " registered for alice: gctl key list shows them\n" +
		"gctl: no key " + bobsFP + " registered for alice: gctl key list shows them\n" +
		"gctl: " + filepath.Join(dir, "nope.pub") + " is neither a fingerprint (SHA256:..., as gctl key list shows them) nor a file\n" +
		"gctl: MD5:aa:bb: give the SHA256 fingerprint, as gctl key list shows it, or the .pub file\n"
	if r.code != 1 || r.stderr != want || r.stdout != "removed "+workFP+" for alice\n" {
		t.Errorf("gctl key rm with bad operands: exit %d, stdout %q, stderr\n%s; want 1 and\n%s", r.code, r.stdout, r.stderr, want)
	}
	if r := gctl(f, "key", "rm", "-u", "bob", bobsFP); r.code != 1 || r.stderr != "gctl: alice may not remove bob's keys: only admins may\n" {
		t.Errorf("alice removing bob's key: exit %d %q", r.code, r.stderr)
	}
	if len(f.keys) != 2 {
		t.Errorf("keys left: %+v; want bob's and carol's", f.keys)
	}
	if r := gctl(f, "key", "rm"); r.code != 2 || !strings.Contains(r.stderr, "missing FINGERPRINT or FILE") {
		t.Errorf("gctl key rm without operands: exit %d %q", r.code, r.stderr)
	}

	// Admins remove anybody's, from standard input too.
	f.me, f.admin = "root", true
	bobs, _ := testKey(t, 1, "")
	withStdin(t, bobs+"\n")
	if out := gctlOK(t, f, "key", "rm", "-u", "carol", "-"); out != "removed "+bobsFP+" for carol\n" {
		t.Errorf("gctl key rm -u carol - printed %q", out)
	}
	if len(f.keys) != 1 || f.keys[0].User != "bob" {
		t.Errorf("keys left: %+v; want bob's: the same key of another user stays", f.keys)
	}
}
