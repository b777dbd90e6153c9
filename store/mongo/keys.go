package mongo

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/store"
)

// Each SSH key is one document of keys: {_id, user, fingerprint, added,
// key}, the api.Key as encodeDoc stores it. The unique index
// user_fingerprint makes a user's fingerprints unique; _id is the id of
// the insert that stored the key (see retry.go). added is when the key
// was added in Unix nanoseconds, 0 if unset: a BSON datetime's
// milliseconds could not order keys added within one. User names and
// fingerprints compare as bytes: fingerprints are base64, where case
// matters.

// keyDoc is a document of keys.
type keyDoc struct {
	ID          bson.ObjectID `bson:"_id"`
	User        string        `bson:"user"`
	Fingerprint string        `bson:"fingerprint"`
	Added       int64         `bson:"added"`
	Key         bson.Raw      `bson:"key"`
}

func newKeyDoc(k *api.Key, id bson.ObjectID) (*keyDoc, error) {
	raw, err := encodeDoc(k)
	if err != nil {
		return nil, err
	}
	var added int64
	if !k.Added.IsZero() {
		added = k.Added.UnixNano()
	}
	return &keyDoc{ID: id, User: k.User, Fingerprint: k.Fingerprint, Added: added, Key: raw}, nil
}

func (d *keyDoc) key() (*api.Key, error) {
	k := new(api.Key)
	if err := decodeDoc(d.Key, k); err != nil {
		return nil, err
	}
	if k.User != d.User || k.Fingerprint != d.Fingerprint {
		return nil, fmt.Errorf("decode: document (%q, %q) holds key %q of %q", d.User, d.Fingerprint, k.Fingerprint, k.User)
	}
	return k, nil
}

// keysFind is the filter and order of the keys of user ("": everybody's).
func keysFind(user string) (filter, sort bson.D) {
	sort = bson.D{{Key: "user", Value: 1}, {Key: "added", Value: 1}, {Key: "fingerprint", Value: 1}}
	if user == "" {
		return bson.D{}, sort
	}
	return bson.D{{Key: "user", Value: user}}, sort
}

func keyFilter(user, fingerprint string) bson.D {
	return bson.D{{Key: "user", Value: user}, {Key: "fingerprint", Value: fingerprint}}
}

// Keys returns the keys registered by user ("": every user's), by user,
// then by when they were added, then by fingerprint.
func (s *Store) Keys(ctx context.Context, user string) ([]*api.Key, error) {
	filter, sort := keysFind(user)
	var keys []*api.Key
	err := s.retry(ctx, "list keys", func(ctx context.Context, _ bool) error {
		keys = nil
		cur, err := s.keys.Find(ctx, filter, options.Find().SetSort(sort))
		if err != nil {
			return err
		}
		defer cur.Close(ctx)
		for cur.Next(ctx) {
			var d keyDoc
			if err := cur.Decode(&d); err != nil {
				return err
			}
			k, err := d.key()
			if err != nil {
				return fmt.Errorf("key %s of %s: %w", d.Fingerprint, d.User, err)
			}
			keys = append(keys, k)
		}
		return cur.Err()
	})
	if err != nil {
		if user == "" {
			return nil, fmt.Errorf("list keys: %w", err)
		}
		return nil, fmt.Errorf("list keys of %s: %w", user, err)
	}
	return keys, nil
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
	d, err := newKeyDoc(k, bson.NewObjectID())
	if err != nil {
		return err
	}
	return s.retry(ctx, "add key", func(ctx context.Context, retried bool) error {
		_, err := s.keys.InsertOne(ctx, d)
		if mongo.IsDuplicateKeyError(err) {
			if retried {
				var got keyDoc
				err := s.keys.FindOne(ctx, keyFilter(k.User, k.Fingerprint)).Decode(&got)
				if err == nil && got.ID == d.ID {
					return nil // the first attempt landed
				}
			}
			return store.ErrExists
		}
		return err
	})
}

// DeleteKey removes user's key of that fingerprint.
func (s *Store) DeleteKey(ctx context.Context, user, fingerprint string) error {
	err := s.retry(ctx, "delete key", func(ctx context.Context, retried bool) error {
		res, err := s.keys.DeleteOne(ctx, keyFilter(user, fingerprint))
		if err != nil {
			return err
		}
		if res.DeletedCount == 0 && !retried {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete key %s of %s: %w", fingerprint, user, err)
	}
	return nil
}
