package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/store"
)

// SSH keys are keyed by user and fingerprint, both compared as bytes:
// fingerprints are base64, where case matters. The store checks nothing
// of the key itself: the server parses it.

// keyTime is when the keys of the tests were added: a zone other than
// UTC and the local one, with nanoseconds.
var keyTime = time.Date(2026, 2, 3, 4, 5, 6, 789012345, time.FixedZone("NPT", 5*3600+2700))

// fullKey is a key with every field set, a comment that needs quoting in
// any query language.
func fullKey(user, fingerprint string) *api.Key {
	return &api.Key{
		User:        user,
		Fingerprint: fingerprint,
		Type:        "ssh-ed25519",
		Key:         "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOdG3r0S6vM3sJ9b0kYq2j7mM0e0m4p1rG2QnVwz9C1t",
		Comment:     "alice@laptop \"it's\" ñ; DROP TABLE keys; --",
		Added:       keyTime,
	}
}

// scribbleKey changes every value of k, as scribble does for jobs.
func scribbleKey(k *api.Key) {
	k.User, k.Fingerprint, k.Type, k.Key, k.Comment = "scribbled", "scribbled", "scribbled", "scribbled", "scribbled"
	k.Added = k.Added.Add(time.Hour)
}

// checkKey reports every field in which got differs from want, as
// checkJob does.
func checkKey(t *testing.T, what string, got, want *api.Key) {
	t.Helper()
	if got == nil || want == nil {
		if got != want {
			t.Errorf("%s: got key %v, want %v", what, got, want)
		}
		return
	}
	if d := diff("Key", reflect.ValueOf(*got), reflect.ValueOf(*want)); len(d) > 0 {
		t.Errorf("%s: key %s of %s differs from what was stored:\n\t%s", what, want.Fingerprint, want.User, strings.Join(d, "\n\t"))
	}
}

// checkKeys compares what Keys returned with want, in order and field by
// field.
func checkKeys(t *testing.T, what string, got, want []*api.Key) {
	t.Helper()
	name := func(keys []*api.Key) []string {
		out := make([]string, len(keys))
		for i, k := range keys {
			out[i] = k.User + " " + k.Fingerprint
		}
		return out
	}
	if len(got) != len(want) {
		t.Errorf("%s: got keys %q, want %q", what, name(got), name(want))
		return
	}
	for i := range want {
		if got[i].User != want[i].User || got[i].Fingerprint != want[i].Fingerprint {
			t.Errorf("%s: got keys %q, want %q", what, name(got), name(want))
			return
		}
	}
	for i := range want {
		checkKey(t, what, got[i], want[i])
	}
}

func addKey(t *testing.T, s store.Store, k *api.Key) {
	t.Helper()
	if err := s.AddKey(t.Context(), k); err != nil {
		t.Fatalf("AddKey(%s, %s): %v", k.User, k.Fingerprint, err)
	}
}

func listKeys(t *testing.T, s store.Store, user string) []*api.Key {
	t.Helper()
	keys, err := s.Keys(t.Context(), user)
	if err != nil {
		t.Fatalf("Keys(%q): %v", user, err)
	}
	for i, k := range keys {
		if k == nil {
			t.Fatalf("Keys(%q)[%d] is nil", user, i)
		}
	}
	return keys
}

func testKeyRoundTrip(t *testing.T, e *env) {
	want := fullKey("alice", "SHA256:Zm9vYmFyYmF6cXV4+/0123456789abcdefghijklm")
	if unset := unsetFields("Key", reflect.ValueOf(*want)); len(unset) > 0 {
		t.Fatalf("storetest's fullKey leaves fields unset, so their round trip is not tested; set them: %v", unset)
	}
	s := e.store()
	addKey(t, s, want)
	checkKeys(t, "Keys(alice)", listKeys(t, s, "alice"), []*api.Key{want})
	checkKeys(t, "Keys of everybody", listKeys(t, s, ""), []*api.Key{want})

	// No comment and no time: they come back empty, not made up.
	bare := &api.Key{User: "bob", Fingerprint: "SHA256:bare", Type: "ssh-rsa", Key: "ssh-rsa AAAA"}
	addKey(t, s, bare)
	checkKeys(t, "Keys(bob) of a bare key", listKeys(t, s, "bob"), []*api.Key{bare})
}

func testKeysOrder(t *testing.T, e *env) {
	s := e.store()
	if keys := listKeys(t, s, ""); len(keys) != 0 {
		checkKeys(t, "Keys of an empty store", keys, nil)
	}
	at := func(d time.Duration) time.Time { return keyTime.Add(d) }
	key := func(user, fp string, added time.Time) *api.Key {
		k := fullKey(user, fp)
		k.Added, k.Comment = added, "key "+fp+" of "+user
		return k
	}
	// Added out of order. The same instant in another zone is the same
	// time; a later instant may read earlier on a wall clock. Keys added
	// at once go by fingerprint, case-sensitively.
	tokyo := time.FixedZone("JST", 9*3600)
	a1 := key("alice", "SHA256:zzz", at(0))
	a2 := key("alice", "SHA256:aaa", at(time.Hour).In(tokyo))
	a3 := key("alice", "SHA256:BBB", at(time.Hour))
	a4 := key("alice", "SHA256:bbb", at(time.Hour).In(time.UTC))
	a5 := key("alice", "SHA256:ccc", at(-time.Nanosecond))
	b1 := key("bob", "SHA256:aaa", at(-24*time.Hour))
	c1 := key("Carol", "SHA256:zzz", at(48*time.Hour))
	ab := key("a.b", "SHA256:yyy", at(time.Minute))
	for _, k := range []*api.Key{a4, b1, a1, c1, a3, ab, a5, a2} {
		addKey(t, s, k)
	}
	checkKeys(t, "Keys of everybody", listKeys(t, s, ""), []*api.Key{c1, ab, a5, a1, a3, a2, a4, b1})
	checkKeys(t, "Keys(alice)", listKeys(t, s, "alice"), []*api.Key{a5, a1, a3, a2, a4})
	checkKeys(t, "Keys(bob)", listKeys(t, s, "bob"), []*api.Key{b1})
	for _, user := range []string{"carol", "Alice", "alic", "nobody"} {
		checkKeys(t, fmt.Sprintf("Keys(%q) of a user without keys", user), listKeys(t, s, user), nil)
	}
}

func testAddKeyExists(t *testing.T, e *env) {
	s := e.store()
	first := fullKey("alice", "SHA256:same")
	addKey(t, s, first)
	again := fullKey("alice", "SHA256:same")
	again.Comment, again.Added = "another comment", keyTime.Add(time.Hour)
	if err := s.AddKey(t.Context(), again); !errors.Is(err, store.ErrExists) {
		t.Errorf("AddKey of a key alice registered already = %v, want store.ErrExists", err)
	}
	checkKeys(t, "Keys after the refused AddKey", listKeys(t, s, ""), []*api.Key{first})

	// Fingerprints differing in case only are different keys.
	other := fullKey("alice", "SHA256:SAME")
	addKey(t, s, other)
	checkKeys(t, "Keys(alice)", listKeys(t, s, "alice"), []*api.Key{other, first})
}

// testAddKeyTwoUsers: the same key may be registered by two users, each
// for themselves; removing it for one leaves it to the other.
func testAddKeyTwoUsers(t *testing.T, e *env) {
	s := e.store()
	alices, bobs := fullKey("alice", "SHA256:shared"), fullKey("bob", "SHA256:shared")
	bobs.Comment, bobs.Added = "bob@desktop", keyTime.Add(time.Minute)
	addKey(t, s, alices)
	addKey(t, s, bobs)
	checkKeys(t, "Keys of everybody", listKeys(t, s, ""), []*api.Key{alices, bobs})
	checkKeys(t, "Keys(bob)", listKeys(t, s, "bob"), []*api.Key{bobs})
	if err := s.DeleteKey(t.Context(), "alice", "SHA256:shared"); err != nil {
		t.Fatalf("DeleteKey(alice): %v", err)
	}
	checkKeys(t, "Keys after alice removed the shared key", listKeys(t, s, ""), []*api.Key{bobs})
	if err := s.AddKey(t.Context(), fullKey("bob", "SHA256:shared")); !errors.Is(err, store.ErrExists) {
		t.Errorf("AddKey of bob's key again after alice removed hers = %v, want store.ErrExists", err)
	}
}

func testDeleteKey(t *testing.T, e *env) {
	s := e.store()
	k1, k2, b1 := fullKey("alice", "SHA256:one"), fullKey("alice", "SHA256:two"), fullKey("bob", "SHA256:bobs")
	k2.Added = keyTime.Add(time.Second)
	for _, k := range []*api.Key{k1, k2, b1} {
		addKey(t, s, k)
	}
	for _, c := range []struct{ user, fingerprint string }{
		{"alice", "SHA256:ONE"}, {"alice", "SHA256:on"}, {"alice", "one"}, {"alice", ""},
		{"Alice", "SHA256:one"}, {"", "SHA256:one"}, {"bob", "SHA256:one"}, {"alice", "SHA256:bobs"},
	} {
		if err := s.DeleteKey(t.Context(), c.user, c.fingerprint); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeleteKey(%q, %q) = %v, want store.ErrNotFound", c.user, c.fingerprint, err)
		}
	}
	checkKeys(t, "Keys after removing keys that are not there", listKeys(t, s, ""), []*api.Key{k1, k2, b1})

	if err := s.DeleteKey(t.Context(), "alice", "SHA256:one"); err != nil {
		t.Fatalf("DeleteKey(alice, SHA256:one): %v", err)
	}
	checkKeys(t, "Keys after DeleteKey", listKeys(t, s, ""), []*api.Key{k2, b1})
	if err := s.DeleteKey(t.Context(), "alice", "SHA256:one"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second DeleteKey(alice, SHA256:one) = %v, want store.ErrNotFound", err)
	}

	// The key may be registered again, and nothing of the old one comes
	// back.
	again := &api.Key{User: "alice", Fingerprint: "SHA256:one", Type: "ssh-ed25519", Key: "ssh-ed25519 AAAA", Added: keyTime.Add(time.Hour)}
	addKey(t, s, again)
	checkKeys(t, "Keys(alice) after adding the key again", listKeys(t, s, "alice"), []*api.Key{k2, again})
}

func testKeyCopies(t *testing.T, e *env) {
	s := e.store()
	given := fullKey("alice", "SHA256:one")
	addKey(t, s, given)
	scribbleKey(given)
	want := []*api.Key{fullKey("alice", "SHA256:one")}
	checkKeys(t, "Keys after the caller changed the key it gave AddKey", listKeys(t, s, "alice"), want)
	for _, k := range listKeys(t, s, "") {
		scribbleKey(k)
	}
	checkKeys(t, "Keys after the caller changed what Keys returned", listKeys(t, s, "alice"), want)
}

// testKeysDurability: keys survive a restart, and what one store writes,
// another open on the same data sees.
func testKeysDurability(t *testing.T, e *env) {
	s, closeStore := e.openClosable()
	other := e.store()
	alices, bobs := fullKey("alice", "SHA256:one"), fullKey("bob", "SHA256:two")
	addKey(t, s, alices)
	addKey(t, s, fullKey("alice", "SHA256:gone"))
	addKey(t, other, bobs)
	checkKeys(t, "Keys through the other store", listKeys(t, other, "alice"), []*api.Key{fullKey("alice", "SHA256:gone"), alices})
	if err := other.DeleteKey(t.Context(), "alice", "SHA256:gone"); err != nil {
		t.Fatalf("DeleteKey through the other store: %v", err)
	}
	checkKeys(t, "Keys after DeleteKey through the other store", listKeys(t, s, ""), []*api.Key{alices, bobs})
	closeStore()

	for round := range 2 {
		s, closeStore := e.openClosable()
		checkKeys(t, fmt.Sprintf("Keys after reopening (%d)", round+1), listKeys(t, s, ""), []*api.Key{alices, bobs})
		closeStore()
	}
}

// testKeysCanceledContext: key methods stop when their context ends, and
// a method that failed changed nothing.
func testKeysCanceledContext(t *testing.T, e *env) {
	s := e.store()
	k := fullKey("alice", "SHA256:one")
	addKey(t, s, k)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.AddKey(ctx, fullKey("alice", "SHA256:fresh")); err == nil {
		t.Error("AddKey with a canceled context succeeded, want an error")
	}
	if err := s.DeleteKey(ctx, "alice", "SHA256:one"); err == nil {
		t.Error("DeleteKey with a canceled context succeeded, want an error")
	}
	if _, err := s.Keys(ctx, "alice"); err == nil {
		t.Error("Keys with a canceled context succeeded, want an error")
	}
	if _, err := s.Keys(ctx, ""); err == nil {
		t.Error("Keys of everybody with a canceled context succeeded, want an error")
	}
	checkKeys(t, "Keys after the failed AddKey and DeleteKey", listKeys(t, s, ""), []*api.Key{k})
}
