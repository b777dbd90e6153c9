package mongo

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// fakeServer is a stand-in for mongod, for the tests that cannot have
// one: it speaks MongoDB's wire protocol (OP_MSG, and OP_QUERY/OP_REPLY
// for the driver's first hello on each connection) to the real driver,
// as the primary of a one-member replica set, and runs in memory the few
// commands this package sends, with the few query and update operators
// it uses: find (equality, $in; sort, limit), insert, update (replacement
// and $set, $inc, $max, upserts), delete, findAndModify, the aggregate
// of countDocuments, createIndexes (unique ones enforced, error 11000),
// dropDatabase. Retryable writes are answered once per session and
// transaction number, as mongod does, so that the driver's own retry of
// an applied write is not applied twice.
//
// It is no MongoDB: what it shows is that this package and the driver
// work together (commands, documents, cursors, errors, retries), not that
// MongoDB's query semantics are the ones assumed here; that is what the
// conformance suite against a real server (GODOCKER_TEST_MONGO_URL) is
// for. Commands run one at a time, which makes each atomic, as
// single-document operations are in MongoDB.
type fakeServer struct {
	t    testing.TB
	ln   net.Listener
	addr string

	mu     sync.Mutex
	dbs    map[string]map[string]*fakeColl // database → collection
	txns   map[string]bson.D               // lsid+txnNumber → the reply of the write
	faults []*fault
	counts map[string]int // commands run, by name
	seen   []bson.D       // every command but hellos, in order

	wg sync.WaitGroup
}

// fault makes the next matching command answer reply, after running it
// if apply is set (a write that landed but whose acknowledgement failed).
type fault struct {
	cmd, coll string
	apply     bool
	reply     bson.D
	times     int // how many commands it takes; then it is gone
}

type fakeColl struct {
	docs   []bson.D
	unique [][]string // the fields of unique indexes, besides _id
	names  map[string]bool

	// What the last update did.
	lastUpserted any // the _id of the document it inserted
	lastMatched  bool
}

// newFakeServer starts a fake server on a loopback port, stopped when the
// test ends.
func newFakeServer(t testing.TB) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{
		t: t, ln: ln, addr: ln.Addr().String(),
		dbs: map[string]map[string]*fakeColl{}, txns: map[string]bson.D{}, counts: map[string]int{},
	}
	var (
		connsMu sync.Mutex
		conns   []net.Conn
	)
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			connsMu.Lock()
			conns = append(conns, c)
			connsMu.Unlock()
			s.wg.Go(func() { s.serve(c) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		connsMu.Lock()
		for _, c := range conns {
			c.Close()
		}
		connsMu.Unlock()
		s.wg.Wait()
	})
	return s
}

// dsn is the address of database db on s.
func (s *fakeServer) dsn(db string) string {
	return "mongodb://" + s.addr + "/" + db + "?directConnection=true&serverSelectionTimeoutMS=5000"
}

// inject queues f.
func (s *fakeServer) inject(f fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// count returns how many commands named cmd ran.
func (s *fakeServer) count(cmd string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[cmd]
}

// commands returns the commands named name that ran on collection coll.
func (s *fakeServer) commands(name, coll string) []bson.D {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []bson.D
	for _, c := range s.seen {
		if c[0].Key == name && c[0].Value == coll {
			out = append(out, c)
		}
	}
	return out
}

// docs returns a copy of the documents of db.coll.
func (s *fakeServer) docs(db, coll string) []bson.D {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.dbs[db][coll]
	if c == nil {
		return nil
	}
	return slices.Clone(c.docs)
}

const (
	opReply = 1
	opQuery = 2004
	opMsg   = 2013
)

func (s *fakeServer) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		var header [16]byte
		if _, err := io.ReadFull(r, header[:]); err != nil {
			return
		}
		length := binary.LittleEndian.Uint32(header[0:])
		requestID := binary.LittleEndian.Uint32(header[4:])
		opcode := binary.LittleEndian.Uint32(header[12:])
		body := make([]byte, length-16)
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		var (
			reply []byte
			err   error
		)
		switch opcode {
		case opQuery:
			reply, err = s.query(requestID, body)
		case opMsg:
			reply, err = s.msg(requestID, body)
		default:
			err = fmt.Errorf("opcode %d", opcode)
		}
		if err != nil {
			s.t.Errorf("fake mongod: %v", err)
			return
		}
		if _, err := c.Write(reply); err != nil {
			return
		}
	}
}

func cstring(b []byte) (string, []byte, error) {
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return "", nil, errors.New("unterminated cstring")
	}
	return string(b[:i]), b[i+1:], nil
}

func readDoc(b []byte) (bson.Raw, []byte, error) {
	if len(b) < 4 {
		return nil, nil, errors.New("short document")
	}
	n := binary.LittleEndian.Uint32(b)
	if int(n) > len(b) {
		return nil, nil, errors.New("truncated document")
	}
	return bson.Raw(b[:n]), b[n:], nil
}

func header(dst []byte, responseTo uint32, opcode uint32) []byte {
	return binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(
		binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(dst, 0), 0), responseTo), opcode)
}

func finish(wm []byte) []byte {
	binary.LittleEndian.PutUint32(wm, uint32(len(wm)))
	return wm
}

// query answers the legacy hello that opens each connection.
func (s *fakeServer) query(requestID uint32, body []byte) ([]byte, error) {
	body = body[4:] // flags
	_, body, err := cstring(body)
	if err != nil {
		return nil, err
	}
	if _, _, err := readDoc(body[8:]); err != nil { // after skip, return: {hello: 1, ...}
		return nil, err
	}
	doc, err := bson.Marshal(s.hello())
	if err != nil {
		return nil, err
	}
	wm := header(nil, requestID, opReply)
	wm = binary.LittleEndian.AppendUint32(wm, 0) // flags
	wm = binary.LittleEndian.AppendUint64(wm, 0) // cursor id
	wm = binary.LittleEndian.AppendUint32(wm, 0) // starting from
	wm = binary.LittleEndian.AppendUint32(wm, 1) // number returned
	return finish(append(wm, doc...)), nil
}

func (s *fakeServer) hello() bson.D {
	return bson.D{
		{Key: "helloOk", Value: true}, {Key: "ismaster", Value: true}, {Key: "isWritablePrimary", Value: true},
		{Key: "setName", Value: "rs0"}, {Key: "setVersion", Value: int32(1)},
		{Key: "hosts", Value: bson.A{s.addr}}, {Key: "primary", Value: s.addr}, {Key: "me", Value: s.addr},
		{Key: "maxBsonObjectSize", Value: int32(16 << 20)}, {Key: "maxMessageSizeBytes", Value: int32(48000000)},
		{Key: "maxWriteBatchSize", Value: int32(100000)}, {Key: "localTime", Value: time.Now()},
		{Key: "logicalSessionTimeoutMinutes", Value: int32(30)}, {Key: "connectionId", Value: int32(1)},
		{Key: "minWireVersion", Value: int32(0)}, {Key: "maxWireVersion", Value: int32(21)},
		{Key: "ok", Value: 1.0},
	}
}

// msg runs the command of an OP_MSG.
func (s *fakeServer) msg(requestID uint32, body []byte) ([]byte, error) {
	body = body[4:] // flags
	var (
		cmd bson.D
		seq = map[string][]bson.D{}
	)
	for len(body) > 0 {
		kind := body[0]
		body = body[1:]
		switch kind {
		case 0:
			raw, rest, err := readDoc(body)
			if err != nil {
				return nil, err
			}
			if err := bson.Unmarshal(raw, &cmd); err != nil {
				return nil, err
			}
			body = rest
		case 1:
			size := binary.LittleEndian.Uint32(body)
			section, rest := body[4:size], body[size:]
			id, section, err := cstring(section)
			if err != nil {
				return nil, err
			}
			for len(section) > 0 {
				var raw bson.Raw
				if raw, section, err = readDoc(section); err != nil {
					return nil, err
				}
				var d bson.D
				if err := bson.Unmarshal(raw, &d); err != nil {
					return nil, err
				}
				seq[id] = append(seq[id], d)
			}
			body = rest
		default:
			return nil, fmt.Errorf("OP_MSG section kind %d", kind)
		}
	}
	reply, err := bson.Marshal(s.command(cmd, seq))
	if err != nil {
		return nil, err
	}
	wm := header(nil, requestID, opMsg)
	wm = binary.LittleEndian.AppendUint32(wm, 0)
	wm = append(wm, 0)
	return finish(append(wm, reply...)), nil
}

func get(d bson.D, key string) (any, bool) {
	for _, e := range d {
		if e.Key == key {
			return e.Value, true
		}
	}
	return nil, false
}

func set(d bson.D, key string, v any) bson.D {
	for i, e := range d {
		if e.Key == key {
			d[i].Value = v
			return d
		}
	}
	return append(d, bson.E{Key: key, Value: v})
}

func asDocs(v any) []bson.D {
	a, _ := v.(bson.A)
	out := make([]bson.D, 0, len(a))
	for _, e := range a {
		d, _ := e.(bson.D)
		out = append(out, d)
	}
	return out
}

func fail(code int32, name, msg string, labels ...string) bson.D {
	d := bson.D{{Key: "ok", Value: 0.0}, {Key: "errmsg", Value: msg}, {Key: "code", Value: code}, {Key: "codeName", Value: name}}
	if len(labels) > 0 {
		l := bson.A{}
		for _, s := range labels {
			l = append(l, s)
		}
		d = append(d, bson.E{Key: "errorLabels", Value: l})
	}
	return d
}

// command runs cmd (its documents sequences in seq) and returns the
// reply.
func (s *fakeServer) command(cmd bson.D, seq map[string][]bson.D) bson.D {
	if len(cmd) == 0 {
		return fail(59, "CommandNotFound", "empty command")
	}
	name := cmd[0].Key
	collName, _ := cmd[0].Value.(string)
	dbName, _ := get(cmd, "$db")
	for _, id := range []string{"documents", "updates", "deletes"} {
		if v, ok := get(cmd, id); ok {
			seq[id] = asDocs(v)
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[name]++
	switch name {
	case "hello", "isMaster", "ismaster":
		return s.hello()
	}
	s.seen = append(s.seen, cmd)
	switch name {
	case "ping", "endSessions", "killCursors":
		return bson.D{{Key: "ok", Value: 1.0}}
	case "dropDatabase":
		delete(s.dbs, dbName.(string))
		return bson.D{{Key: "ok", Value: 1.0}}
	}

	// A retried write: the reply the first one had.
	txn := ""
	if n, ok := get(cmd, "txnNumber"); ok {
		lsid, _ := get(cmd, "lsid")
		id, _ := get(lsid.(bson.D), "id")
		txn = fmt.Sprintf("%v/%v", id, n)
	}
	var f *fault
	for i, ff := range s.faults {
		if ff.cmd == name && (ff.coll == "" || ff.coll == collName) {
			f = ff
			if f.times--; f.times <= 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
			break
		}
	}
	if f != nil && !f.apply {
		return f.reply
	}
	reply, ok := s.txns[txn]
	if !ok || txn == "" {
		if s.dbs[dbName.(string)] == nil {
			s.dbs[dbName.(string)] = map[string]*fakeColl{}
		}
		db := s.dbs[dbName.(string)]
		if db[collName] == nil {
			db[collName] = &fakeColl{names: map[string]bool{}}
		}
		reply = db[collName].run(dbName.(string)+"."+collName, name, cmd, seq)
		if txn != "" {
			s.txns[txn] = reply
		}
	}
	if f != nil {
		return f.reply
	}
	return reply
}

func (c *fakeColl) run(ns, name string, cmd bson.D, seq map[string][]bson.D) bson.D {
	ok := bson.E{Key: "ok", Value: 1.0}
	switch name {
	case "createIndexes":
		for _, ix := range asDocs(must(get(cmd, "indexes"))) {
			n, _ := get(ix, "name")
			c.names[n.(string)] = true
			if u, _ := get(ix, "unique"); u == true {
				var fields []string
				for _, k := range must(get(ix, "key")).(bson.D) {
					fields = append(fields, k.Key)
				}
				c.unique = append(c.unique, fields)
			}
		}
		return bson.D{ok}
	case "find":
		filter, _ := get(cmd, "filter")
		sort, _ := get(cmd, "sort")
		limit, _ := get(cmd, "limit")
		docs := c.find(asDoc(filter), asDoc(sort), toInt(limit))
		batch := bson.A{}
		for _, d := range docs {
			batch = append(batch, d)
		}
		return bson.D{{Key: "cursor", Value: bson.D{{Key: "firstBatch", Value: batch}, {Key: "id", Value: int64(0)}, {Key: "ns", Value: ns}}}, ok}
	case "aggregate":
		var n int
		for _, stage := range asDocs(must(get(cmd, "pipeline"))) {
			switch stage[0].Key {
			case "$match":
				n = len(c.find(asDoc(stage[0].Value), nil, 0))
			case "$group":
			default:
				return fail(40324, "Location40324", "unexpected stage "+stage[0].Key)
			}
		}
		batch := bson.A{}
		if n > 0 {
			batch = append(batch, bson.D{{Key: "_id", Value: int32(1)}, {Key: "n", Value: int32(n)}})
		}
		return bson.D{{Key: "cursor", Value: bson.D{{Key: "firstBatch", Value: batch}, {Key: "id", Value: int64(0)}, {Key: "ns", Value: ns}}}, ok}
	case "insert":
		n := int32(0)
		for i, d := range seq["documents"] {
			if dup := c.duplicate(d, -1); dup != "" {
				return bson.D{{Key: "n", Value: n}, {Key: "writeErrors", Value: bson.A{writeError(i, dup)}}, ok}
			}
			c.docs = append(c.docs, d)
			n++
		}
		return bson.D{{Key: "n", Value: n}, ok}
	case "update":
		var n, modified int32
		var upserted bson.A
		for i, u := range seq["updates"] {
			q, _ := get(u, "q")
			upd, _ := get(u, "u")
			upsert, _ := get(u, "upsert")
			_, _, dup := c.update(asDoc(q), asDoc(upd), upsert == true)
			switch {
			case dup != "":
				return bson.D{{Key: "n", Value: n}, {Key: "writeErrors", Value: bson.A{writeError(i, dup)}}, ok}
			case c.lastUpserted != nil:
				upserted = append(upserted, bson.D{{Key: "index", Value: int32(i)}, {Key: "_id", Value: c.lastUpserted}})
				n++
			case c.lastMatched:
				n++
				modified++
			}
		}
		r := bson.D{{Key: "n", Value: n}, {Key: "nModified", Value: modified}}
		if upserted != nil {
			r = append(r, bson.E{Key: "upserted", Value: upserted})
		}
		return append(r, ok)
	case "delete":
		var n int32
		for _, d := range seq["deletes"] {
			q, _ := get(d, "q")
			if i := c.first(asDoc(q)); i >= 0 {
				c.docs = slices.Delete(c.docs, i, i+1)
				n++
			}
		}
		return bson.D{{Key: "n", Value: n}, ok}
	case "findAndModify":
		q, _ := get(cmd, "query")
		upd, _ := get(cmd, "update")
		upsert, _ := get(cmd, "upsert")
		ret, _ := get(cmd, "new")
		before, after, dup := c.update(asDoc(q), asDoc(upd), upsert == true)
		if dup != "" {
			return fail(11000, "DuplicateKey", "E11000 duplicate key error: "+dup)
		}
		var value any
		switch {
		case ret == true && after != nil:
			value = after
		case ret != true && before != nil:
			value = before
		}
		return bson.D{{Key: "lastErrorObject", Value: bson.D{{Key: "n", Value: int32(1)}}}, {Key: "value", Value: value}, ok}
	}
	return fail(59, "CommandNotFound", "no such command: "+name)
}

func must(v any, _ bool) any { return v }

func asDoc(v any) bson.D {
	d, _ := v.(bson.D)
	return d
}

func toInt(v any) int {
	switch n := v.(type) {
	case int32:
		return int(n)
	case int64:
		return int(n)
	case float64:
		return int(n)
	}
	return 0
}

func writeError(i int, dup string) bson.D {
	return bson.D{{Key: "index", Value: int32(i)}, {Key: "code", Value: int32(11000)}, {Key: "errmsg", Value: "E11000 duplicate key error: " + dup}}
}

// find returns the documents that match filter, sorted, at most limit
// (0: all).
func (c *fakeColl) find(filter, sort bson.D, limit int) []bson.D {
	var out []bson.D
	for _, d := range c.docs {
		if matches(d, filter) {
			out = append(out, d)
		}
	}
	if len(sort) > 0 {
		slices.SortStableFunc(out, func(a, b bson.D) int {
			for _, k := range sort {
				av, _ := get(a, k.Key)
				bv, _ := get(b, k.Key)
				if r := compare(av, bv) * toInt(k.Value); r != 0 {
					return r
				}
			}
			return 0
		})
	}
	if limit < 0 {
		limit = -limit
	}
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

func (c *fakeColl) first(filter bson.D) int {
	for i, d := range c.docs {
		if matches(d, filter) {
			return i
		}
	}
	return -1
}

func matches(d, filter bson.D) bool {
	for _, cond := range filter {
		v, present := get(d, cond.Key)
		if !present {
			v = nil
		}
		if ops, ok := cond.Value.(bson.D); ok && len(ops) > 0 && strings.HasPrefix(ops[0].Key, "$") {
			for _, op := range ops {
				switch op.Key {
				case "$in":
					if !slices.ContainsFunc(op.Value.(bson.A), func(w any) bool { return equal(v, w) }) {
						return false
					}
				default:
					panic("fake mongod: no operator " + op.Key)
				}
			}
			continue
		}
		if !equal(v, cond.Value) {
			return false
		}
	}
	return true
}

// update applies upd to the first document that matches q, or inserts
// one if upsert; it returns the document before and after, or the
// duplicate key it would make (and changes nothing).
func (c *fakeColl) update(q, upd bson.D, upsert bool) (before, after bson.D, dup string) {
	c.lastUpserted, c.lastMatched = nil, false
	operators := len(upd) > 0 && strings.HasPrefix(upd[0].Key, "$")
	apply := func(d bson.D, insert bool) bson.D {
		if !operators {
			id, _ := get(d, "_id")
			return append(bson.D{{Key: "_id", Value: id}}, slices.DeleteFunc(slices.Clone(upd), func(e bson.E) bool { return e.Key == "_id" })...)
		}
		d = slices.Clone(d)
		for _, op := range upd {
			for _, f := range op.Value.(bson.D) {
				cur, present := get(d, f.Key)
				switch op.Key {
				case "$set":
					d = set(d, f.Key, f.Value)
				case "$setOnInsert":
					if insert {
						d = set(d, f.Key, f.Value)
					}
				case "$inc":
					if !present {
						d = set(d, f.Key, f.Value)
					} else {
						d = set(d, f.Key, cur.(int64)+f.Value.(int64))
					}
				case "$max":
					if !present || compare(f.Value, cur) > 0 {
						d = set(d, f.Key, f.Value)
					}
				default:
					panic("fake mongod: no update operator " + op.Key)
				}
			}
		}
		return d
	}
	i := c.first(q)
	if i < 0 {
		if !upsert {
			return nil, nil, ""
		}
		var d bson.D
		for _, e := range q {
			if ops, ok := e.Value.(bson.D); !ok || len(ops) == 0 || !strings.HasPrefix(ops[0].Key, "$") {
				d = append(d, e)
			}
		}
		d = apply(d, true)
		if _, ok := get(d, "_id"); !ok {
			d = append(bson.D{{Key: "_id", Value: bson.NewObjectID()}}, d...)
		}
		if dup := c.duplicate(d, -1); dup != "" {
			return nil, nil, dup
		}
		c.docs = append(c.docs, d)
		c.lastUpserted, _ = get(d, "_id")
		return nil, d, ""
	}
	before = c.docs[i]
	after = apply(before, false)
	if dup := c.duplicate(after, i); dup != "" {
		return nil, nil, dup
	}
	c.docs[i] = after
	c.lastMatched = true
	return before, after, ""
}

// duplicate names the unique index d would break (skipping document
// self), or "".
func (c *fakeColl) duplicate(d bson.D, self int) string {
	indexes := append([][]string{{"_id"}}, c.unique...)
	for i, other := range c.docs {
		if i == self {
			continue
		}
		for _, fields := range indexes {
			same := true
			for _, f := range fields {
				a, _ := get(d, f)
				b, _ := get(other, f)
				if !equal(a, b) {
					same = false
					break
				}
			}
			if same {
				return strings.Join(fields, "_")
			}
		}
	}
	return ""
}

// equal compares BSON values as MongoDB does for equality: numbers by
// value whatever their type; nil (null or missing) equals only nil.
func equal(a, b any) bool {
	if fa, ok := number(a); ok {
		fb, ok := number(b)
		return ok && fa == fb
	}
	return reflect.DeepEqual(a, b)
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

// compare orders values of one type: numbers, strings (bytewise, the
// simple collation), ObjectIDs; nil first.
func compare(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	if fa, ok := number(a); ok {
		fb, _ := number(b)
		ia, aInt := a.(int64)
		ib, bInt := b.(int64)
		if aInt && bInt {
			return cmpInt(ia, ib)
		}
		switch {
		case fa < fb:
			return -1
		case fa > fb:
			return 1
		}
		return 0
	}
	switch x := a.(type) {
	case string:
		return strings.Compare(x, b.(string))
	case bson.ObjectID:
		y := b.(bson.ObjectID)
		return bytes.Compare(x[:], y[:])
	}
	panic(fmt.Sprintf("fake mongod: cannot order %T", a))
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
