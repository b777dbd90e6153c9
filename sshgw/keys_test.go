package sshgw

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"os/user"
	"path/filepath"
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

func newPublicKey(t *testing.T) (gossh.PublicKey, string) {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := gossh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pk, string(gossh.MarshalAuthorizedKey(pk))
}

// TestAuthorizedKeys: only what OpenSSH's StrictModes would trust is read,
// and only entries without options.
func TestAuthorizedKeys(t *testing.T) {
	home := t.TempDir()
	u := &user.User{Username: "nobody", Uid: "65534", HomeDir: home}
	ssh := filepath.Join(home, ".ssh")
	if err := os.Mkdir(ssh, 0o700); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(ssh, "authorized_keys")
	plain, plainLine := newPublicKey(t)
	_, forcedLine := newPublicKey(t)
	write := func(content string, mode os.FileMode) {
		t.Helper()
		os.Remove(file)
		if err := os.WriteFile(file, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(file, mode); err != nil { // past the umask
			t.Fatal(err)
		}
	}

	if keys, err := authorizedKeys(u, ".ssh/authorized_keys"); err != nil || len(keys) != 0 {
		t.Errorf("no file: %d keys, %v; want none, no error", len(keys), err)
	}
	write("# comment\n\n"+plainLine+`command="/bin/backup",no-pty `+forcedLine+"garbage line\n", 0o600)
	keys, err := authorizedKeys(u, ".ssh/authorized_keys")
	if err != nil || len(keys) != 1 || string(keys[0].Marshal()) != string(plain.Marshal()) {
		t.Errorf("file with a plain key, a forced-command key and garbage: %d keys, %v; want the plain key alone", len(keys), err)
	}

	write(plainLine, 0o620)
	if _, err := authorizedKeys(u, ".ssh/authorized_keys"); err == nil {
		t.Error("a group-writable authorized_keys was read")
	}
	write(plainLine, 0o600)
	if err := os.Chmod(ssh, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := authorizedKeys(u, ".ssh/authorized_keys"); err == nil {
		t.Error("an authorized_keys in a world-writable directory was read")
	}
	if err := os.Chmod(ssh, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(file, 1234, 1234); err != nil {
		t.Fatal(err)
	}
	if _, err := authorizedKeys(u, ".ssh/authorized_keys"); err == nil {
		t.Error("an authorized_keys owned by another user was read")
	}

	// A link to another user's file is not followed.
	other := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(other, []byte(plainLine), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(file)
	if err := os.Symlink(other, file); err != nil {
		t.Fatal(err)
	}
	if keys, err := authorizedKeys(u, ".ssh/authorized_keys"); err == nil || len(keys) != 0 {
		t.Errorf("authorized_keys as a symbolic link: %d keys, %v; want it refused", len(keys), err)
	}
}
