// Package mongo is GoDocker's shared store: one MongoDB database, through
// the official driver (go.mongodb.org/mongo-driver/v2), that several
// godockerd use at once. Importing it registers the driver "mongo" with
// store.Open; its dsn is a mongodb:// or mongodb+srv:// URI whose path
// names the database (DefaultDatabase, godocker, if none):
//
//	mongodb://db1:27017,db2:27017,db3:27017/godocker?replicaSet=rs0
//
// The URI's options are the driver's (authSource, tls, ...; the path is
// also the default authSource of credentials). Unless it sets them,
// writes wait for a journaled majority, reads see majority-committed
// data, and the driver's retryable reads and writes are on: what the
// store acknowledged survives a failover. MongoDB 4.4 or later (the
// driver's minimum); a replica set in production, though a standalone
// mongod works too.
//
// # Documents
//
// jobs holds one document per job: the fields queries filter on, copied
// from the job at each write, and the job itself, in api's JSON wire
// format turned into BSON (codec.go: times keep their nanoseconds and
// offset, map keys with '.', '$' or '%' are escaped, nil stays nil):
//
//	{_id: 12, user: "alice", state: "running", array_id: 0, task_id: 0,
//	 submitted: ISODate(...), version: 3, ops: [ObjectId(...), ...],
//	 job: {id: 12, name: "align", spec: {env: {"%24weird%2Ekey": "v"}, ...}, ...}}
//
// counters holds {_id: "jobs", seq: N}, the last job id handed out, which
// NextID increments atomically (findOneAndUpdate $inc, upsert, returning
// the new value), so that ids are never handed out twice, across servers
// and restarts. settings holds {_id: key, value}, among them {_id:
// "installation"}, the installation id (store.SettingInstallation), which
// Open makes if missing (an upsert with $setOnInsert: of several servers
// opening a new database at once, one inserts it and the others read its
// value). projects holds {_id: name, version, ops, project}, accounts
// {_id: user, account}, keys {_id, user, fingerprint, added, key}.
// Indexes lists the secondary indexes; Open creates them.
//
// UpdateJob and UpdateProject are atomic without transactions, by
// optimistic concurrency on the version field; store methods retry
// transient errors (elections, lost connections) with back-off, and
// retried writes are never applied twice (retry.go).
//
// # Tests
//
// No MongoDB server runs where GoDocker's tests run (none can be
// installed there), so the tests of this package are in three parts.
//
// Without any server, they check what is decided here rather than by the
// server: that a document round-trips every field of api.Job
// (storetest's full job: every field set, map keys such as "$weird.key",
// times with nanoseconds in a fixed zone, nil and zero exit codes),
// api.Project, api.Account and api.Key, through BSON bytes as the server
// stores them, with no field name MongoDB would misread; the filter, sort
// and limit built for each shape of store.Query, and the keys' order; the
// index definitions, and which index serves each query gstat and the
// scheduler make; which errors are retried and that the back-off stops at
// the context's end and at its own limit; the DSN's database (default and
// explicit) and hosts; the client options (majority, journaled,
// retryable); and that Open of an unreachable server fails within its
// timeout with a message saying what to check.
//
// Against fakeServer (fake_test.go), an in-memory stand-in for a
// one-member replica set that speaks the wire protocol to the real driver
// and runs the few commands and operators this package uses, they run the
// conformance suite store/storetest end to end, check the commands sent
// (write and read concerns, transaction numbers, Jobs' filter, sort and
// limit), and inject failures: a primary stepping down after applying a
// write (which must not be applied twice, nor turn into store.ErrExists),
// an election that outlasts the driver's own retry, one that outlasts the
// caller's context. The fake shows that this package and the driver work
// together; it cannot show that MongoDB's semantics are the ones it
// mimics.
//
// That is the conformance suite against a real MongoDB: TestConformance
// runs store/storetest when GODOCKER_TEST_MONGO_URL names a server, each
// test in a database of its own, dropped afterwards:
//
//	GODOCKER_TEST_MONGO_URL=mongodb://localhost:27017 go test -race ./store/mongo
//
// Without it, TestConformance is skipped and says so. A real election
// (rs.stepDown() during writes) is not tested anywhere.
package mongo
