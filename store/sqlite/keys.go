package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/store"
)

// Each SSH key is one row of keys: its user and fingerprint (the primary
// key), when it was added (the listing's order) and the api.Key in JSON.
// User names and fingerprints compare as bytes: fingerprints are base64,
// where case matters.

// Keys returns the keys registered by user ("": every user's), by user,
// then by when they were added, then by fingerprint.
func (s *Store) Keys(ctx context.Context, user string) ([]*api.Key, error) {
	keys, err := s.keys(ctx, user)
	if err != nil {
		if user == "" {
			return nil, fmt.Errorf("list keys: %w", err)
		}
		return nil, fmt.Errorf("list keys of %s: %w", user, err)
	}
	return keys, nil
}

// keysQuery is the statement that lists user's keys ("": everybody's),
// and its arguments.
func keysQuery(user string) (string, []any) {
	if user == "" {
		return "SELECT user, fingerprint, key FROM keys ORDER BY user, added, fingerprint", nil
	}
	return "SELECT user, fingerprint, key FROM keys WHERE user = ? ORDER BY added, fingerprint", []any{user}
}

func (s *Store) keys(ctx context.Context, user string) ([]*api.Key, error) {
	query, args := keysQuery(user)
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys []*api.Key
	for rows.Next() {
		var (
			owner, fingerprint string
			doc                sql.RawBytes
		)
		if err := rows.Scan(&owner, &fingerprint, &doc); err != nil {
			return nil, err
		}
		k, err := decodeKey(owner, fingerprint, doc)
		if err != nil {
			return nil, fmt.Errorf("key %s of %s: %w", fingerprint, owner, err)
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// AddKey registers k for k.User.
func (s *Store) AddKey(ctx context.Context, k *api.Key) error {
	switch {
	case k == nil:
		return errors.New("add key: nil key")
	case k.User == "":
		return fmt.Errorf("add key %s: no user name", k.Fingerprint)
	case k.Fingerprint == "":
		return fmt.Errorf("add key of %s: no fingerprint", k.User)
	}
	if err := s.addKey(ctx, k); err != nil {
		return fmt.Errorf("add key %s of %s: %w", k.Fingerprint, k.User, err)
	}
	return nil
}

func (s *Store) addKey(ctx context.Context, k *api.Key) error {
	doc, err := json.Marshal(k)
	if err != nil {
		return err
	}
	res, err := s.w.ExecContext(ctx,
		"INSERT INTO keys (user, fingerprint, added, key) VALUES (?, ?, ?, ?) ON CONFLICT (user, fingerprint) DO NOTHING",
		k.User, k.Fingerprint, addedNano(k), string(doc))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return store.ErrExists
	}
	return nil
}

// DeleteKey removes user's key of that fingerprint.
func (s *Store) DeleteKey(ctx context.Context, user, fingerprint string) error {
	if err := s.deleteKey(ctx, user, fingerprint); err != nil {
		return fmt.Errorf("delete key %s of %s: %w", fingerprint, user, err)
	}
	return nil
}

func (s *Store) deleteKey(ctx context.Context, user, fingerprint string) error {
	res, err := s.w.ExecContext(ctx, "DELETE FROM keys WHERE user = ? AND fingerprint = ?", user, fingerprint)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// addedNano is when k was added in Unix nanoseconds, 0 if unset (as
// unixNano for jobs).
func addedNano(k *api.Key) int64 {
	if k.Added.IsZero() {
		return 0
	}
	return k.Added.UnixNano()
}

func decodeKey(user, fingerprint string, doc []byte) (*api.Key, error) {
	k := new(api.Key)
	if err := json.Unmarshal(doc, k); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if k.User != user || k.Fingerprint != fingerprint {
		return nil, fmt.Errorf("decode: row (%q, %q) holds key %q of %q", user, fingerprint, k.Fingerprint, k.User)
	}
	return k, nil
}
