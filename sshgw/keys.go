package sshgw

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

	gossh "golang.org/x/crypto/ssh"
)

// maxAuthorizedKeys bounds how much of a user's authorized_keys is read.
const maxAuthorizedKeys = 1 << 20

// ownsKey reports whether key is one of user's: registered with gctl key
// add, or listed in the user's authorized_keys file when the site allows
// it.
func (g *Gateway) ownsKey(ctx context.Context, u *user.User, key gossh.PublicKey) (bool, error) {
	want := key.Marshal()
	keys, err := g.store.Keys(ctx, u.Username)
	if err != nil {
		return false, fmt.Errorf("read the keys of %s: %w", u.Username, err)
	}
	for _, k := range keys {
		pk, _, _, _, err := gossh.ParseAuthorizedKey([]byte(k.Key))
		if err == nil && bytes.Equal(pk.Marshal(), want) {
			return true, nil
		}
	}
	if g.cfg.AuthorizedKeys == "" {
		return false, nil
	}
	listed, err := authorizedKeys(u, g.cfg.AuthorizedKeys)
	if err != nil {
		g.log.Warn("ignoring a user's authorized_keys", "user", u.Username, "err", err)
		return false, nil
	}
	for _, pk := range listed {
		if bytes.Equal(pk.Marshal(), want) {
			return true, nil
		}
	}
	return false, nil
}

// authorizedKeys reads the keys of rel (e.g. .ssh/authorized_keys) in u's
// home, as OpenSSH's StrictModes would accept it: a regular file, and it
// and every directory from the home down to it owned by the user or root
// and writable by nobody else. A missing file is no keys. Entries with
// options (command=, from=, restrict, ...) are skipped: the gateway could
// not honour them, and a key restricted to one command must not open a
// shell.
func authorizedKeys(u *user.User, rel string) ([]gossh.PublicKey, error) {
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return nil, fmt.Errorf("uid %q: %w", u.Uid, err)
	}
	path := filepath.Join(u.HomeDir, rel)
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		if err := trusted(dir, uid, true); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, nil
			}
			return nil, err
		}
		if dir == filepath.Clean(u.HomeDir) || dir == "/" {
			break
		}
	}
	// No following a link, no blocking on a FIFO the user put there.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if err := safeOwner(path, fi, uid); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, maxAuthorizedKeys))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var keys []gossh.PublicKey
	for rest := b; len(bytes.TrimSpace(rest)) > 0; {
		pk, _, options, next, err := gossh.ParseAuthorizedKey(rest)
		if err != nil {
			break // no more keys (the parser skips bad lines itself)
		}
		if len(options) == 0 {
			keys = append(keys, pk)
		}
		rest = next
	}
	return keys, nil
}

// trusted checks that a directory on the way to authorized_keys is the
// user's or root's and that nobody else may write to it.
func trusted(dir string, uid int, isDir bool) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if isDir && !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	return safeOwner(dir, fi, uid)
}

func safeOwner(path string, fi os.FileInfo, uid int) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%s: no owner information", path)
	}
	if int(st.Uid) != uid && st.Uid != 0 {
		return fmt.Errorf("%s belongs to uid %d, neither the user nor root", path, st.Uid)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s is writable by group or others (chmod go-w it)", path)
	}
	return nil
}
