package mongo

import (
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Indexes returns the secondary indexes Open creates, by collection. Each
// ends with the fields a query sorts on, so that the index also yields
// the order (jobs: _id, the id order of store.Store.Jobs) and MongoDB
// needs no in-memory sort. Projects, accounts and settings are looked up
// and listed by _id, which MongoDB indexes itself.
//
//   - jobs state_id (state, _id): the scheduler's pending and running
//     jobs; gstat -s STATE.
//   - jobs user_state_id (user, state, _id): gstat -u USER [-s STATE];
//     the per-user limits.
//   - jobs array_task_id (array_id, task_id, _id): the tasks of an array
//     [with these numbers] (gstat -t, gdel ID.TASK); plain jobs have
//     array_id 0.
//   - keys user_fingerprint (user, fingerprint), unique: a user registers
//     a key once (AddKey's store.ErrExists).
//   - keys user_added_fingerprint (user, added, fingerprint): Keys' order.
func Indexes() map[string][]mongo.IndexModel {
	return map[string][]mongo.IndexModel{
		jobsColl: {
			index("state_id", false, "state", "_id"),
			index("user_state_id", false, "user", "state", "_id"),
			index("array_task_id", false, "array_id", "task_id", "_id"),
		},
		keysColl: {
			index("user_fingerprint", true, "user", "fingerprint"),
			index("user_added_fingerprint", false, "user", "added", "fingerprint"),
		},
	}
}

// index is an ascending index on fields, named name.
func index(name string, unique bool, fields ...string) mongo.IndexModel {
	keys := make(bson.D, len(fields))
	for i, f := range fields {
		keys[i] = bson.E{Key: f, Value: 1}
	}
	opts := options.Index().SetName(name)
	if unique {
		opts.SetUnique(true)
	}
	return mongo.IndexModel{Keys: keys, Options: opts}
}
