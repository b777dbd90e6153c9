package sshgw

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/godocker/godocker/sshgw/sftpd"
)

func TestMain(m *testing.M) {
	sftpd.Init()
	os.Exit(m.Run())
}

// TestHostKeyKeptAcrossRestarts: the host key is generated once, readable
// by root alone, and the same at every start (clients would otherwise
// warn of a man in the middle).
func TestHostKeyKeptAcrossRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "ssh_host_ed25519_key")
	first, err := hostKey(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("host key mode %v, want 0600", fi.Mode().Perm())
	}
	again, err := hostKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.PublicKey().Marshal(), again.PublicKey().Marshal()) {
		t.Error("a second start made another host key")
	}
	if err := os.WriteFile(path, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := hostKey(path); err == nil {
		t.Error("a damaged host key was accepted (or silently replaced)")
	}
}
