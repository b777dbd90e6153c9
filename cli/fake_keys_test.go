package cli

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/godocker/godocker/api"
)

// The fake's SSH keys: godockerd's rules (server/keys.go), as far as the
// commands' tests need them. Keys are added a minute apart from t0.

// keyOwner is whose keys a call names, as godockerd decides it: the
// caller's when user is empty, anybody's for admins.
func (f *fake) keyOwner(user, doing string) (string, error) {
	switch {
	case user == "" || user == f.me:
		return f.me, nil
	case !f.admin:
		return "", api.Denied(fmt.Sprintf("%s may not %s: only admins may", f.me, fmt.Sprintf(doing, user)))
	}
	return user, nil
}

func (f *fake) Keys(_ context.Context, user string) ([]*api.Key, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	owner, err := f.keyOwner(user, "list %s's keys")
	if err != nil {
		return nil, err
	}
	var out []*api.Key
	for _, k := range f.keys {
		if owner == "*" || k.User == owner {
			c := *k
			out = append(out, &c)
		}
	}
	slices.SortStableFunc(out, func(a, b *api.Key) int {
		return cmp.Or(strings.Compare(a.User, b.User), a.Added.Compare(b.Added), strings.Compare(a.Fingerprint, b.Fingerprint))
	})
	return out, nil
}

func (f *fake) AddKey(_ context.Context, r api.AddKeyRequest) (*api.Key, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	owner, err := f.keyOwner(r.User, "register keys for %s")
	if err != nil {
		return nil, err
	}
	pub, comment, options, _, err := ssh.ParseAuthorizedKey([]byte(r.Key))
	switch {
	case err != nil:
		return nil, api.Invalid(fmt.Sprintf("not an SSH public key (%v): give one line of a .pub file, TYPE BASE64 [COMMENT]", err))
	case len(options) > 0:
		return nil, api.Invalid("options are not supported: register the bare key (TYPE BASE64 COMMENT)")
	}
	k := &api.Key{User: owner, Fingerprint: ssh.FingerprintSHA256(pub), Type: pub.Type(),
		Key: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))), Comment: comment,
		Added: t0.Add(time.Duration(len(f.keys)) * time.Minute)}
	if slices.ContainsFunc(f.keys, func(o *api.Key) bool { return o.User == k.User && o.Fingerprint == k.Fingerprint }) {
		return nil, api.Conflict(fmt.Sprintf("key %s is already registered for %s: gctl key list shows it", k.Fingerprint, owner))
	}
	f.keys = append(f.keys, k)
	c := *k
	return &c, nil
}

func (f *fake) DeleteKey(_ context.Context, user, fingerprint string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	owner, err := f.keyOwner(user, "remove %s's keys")
	if err != nil {
		return err
	}
	i := slices.IndexFunc(f.keys, func(k *api.Key) bool { return k.User == owner && k.Fingerprint == fingerprint })
	if i < 0 {
		return api.NotFound(fmt.Sprintf("no key %s registered for %s: gctl key list shows them", fingerprint, owner))
	}
	f.keys = slices.Delete(f.keys, i, i+1)
	return nil
}
