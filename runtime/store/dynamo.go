package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// Item attribute names.
const (
	attrPK           = "pk"
	attrConversation = "conversation" // JSON array of Message
	attrVersion      = "version"
	attrRegion       = "lastActiveRegion"
	attrActiveAt     = "lastActiveAt" // RFC3339Nano
	attrUserID       = "userId"
	attrState        = "state"       // JSON object
	attrExpiresAtMs  = "expiresAtMs" // precise expiry; ttl is only whole seconds
	attrTTL          = "ttl"         // epoch seconds, DynamoDB TTL attribute
	attrSeen         = "seen"        // JSON array of SeenID: the idempotency record
	attrOwner        = "owner"       // Session.Owner: hex SHA-256 of the session token, never the token
)

// DynamoConfig configures NewDynamo. Zero values take the documented defaults.
type DynamoConfig struct {
	Endpoint    string        // e.g. http://127.0.0.1:8000; empty = real AWS with the default credential chain
	Table       string        // required
	AWSRegion   string        // default us-east-1
	TTL         time.Duration // session lifetime after each write; default 1h
	MaxMessages int           // conversation bound (SPEC §5 defect 8); default 50
	Strategy    Strategy      // default version-wins
	Now         func() time.Time
	// StoreClock stamps and judges session expiry on the store's clock, as
	// estimated from the Date header of its answers (storeClock), instead
	// of on Now: regions whose clocks disagree then agree on when a session
	// expires. Without a Date header (an endpoint that sends none) Now is used.
	StoreClock bool
	HTTPClient *http.Client // optional

	MaxAttempts   int           // SDK attempts per call incl. the first; default 2 so a partition shows fast
	OpTimeout     time.Duration // per-call deadline on top of ctx; 0 = ctx only
	MergeAttempts int           // optimistic merge retries; default 5
	CreateTimeout time.Duration // CreateTable wait for ACTIVE; default 30s
	PollInterval  time.Duration // CreateTable status poll interval; default 200ms
}

// Dynamo is the DynamoDB implementation of Store. Safe for concurrent use.
type Dynamo struct {
	cfg DynamoConfig
	db  *dynamodb.Client
	// now is the clock expiry is stamped and judged on: cfg.Now, or the
	// store's clock (cfg.StoreClock).
	now func() time.Time

	puts, conflicts, overwritten, errs atomic.Int64
}

var _ Store = (*Dynamo)(nil)

// NewDynamo builds a client. With Endpoint set it uses static dummy credentials and never
// consults the environment, so a local endpoint works on any machine.
func NewDynamo(ctx context.Context, cfg DynamoConfig) (*Dynamo, error) {
	if cfg.Table == "" {
		return nil, errors.New("dynamodb.table: required")
	}
	if cfg.AWSRegion == "" {
		cfg.AWSRegion = "us-east-1"
	}
	if cfg.TTL == 0 {
		cfg.TTL = time.Hour
	}
	if cfg.TTL < 0 {
		return nil, fmt.Errorf("session.ttl: %v must be positive", cfg.TTL)
	}
	if cfg.MaxMessages == 0 {
		cfg.MaxMessages = 50
	}
	if cfg.MaxMessages < 0 {
		return nil, fmt.Errorf("session.max_messages: %d must be positive", cfg.MaxMessages)
	}
	if cfg.Strategy == "" {
		cfg.Strategy = VersionWins
	}
	if _, err := ParseStrategy(string(cfg.Strategy)); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 2
	}
	if cfg.MergeAttempts <= 0 {
		cfg.MergeAttempts = 5
	}
	if cfg.CreateTimeout <= 0 {
		cfg.CreateTimeout = 30 * time.Second
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 200 * time.Millisecond
	}

	// A small retryer without the client-side retry quota: during a partition the quota
	// would otherwise turn into long-lived "retry quota exceeded" errors after healing.
	retryer := func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = cfg.MaxAttempts
			o.MaxBackoff = 100 * time.Millisecond
			o.RateLimiter = ratelimit.None
		})
	}
	var awsCfg aws.Config
	if cfg.Endpoint != "" {
		awsCfg = aws.Config{
			Region:      cfg.AWSRegion,
			Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
			Retryer:     retryer,
		}
	} else {
		var err error
		awsCfg, err = config.LoadDefaultConfig(ctx, config.WithRegion(cfg.AWSRegion), config.WithRetryer(retryer))
		if err != nil {
			return nil, fmt.Errorf("dynamodb: load AWS config: %w", err)
		}
	}
	if cfg.HTTPClient != nil {
		awsCfg.HTTPClient = cfg.HTTPClient
	}
	now := cfg.Now
	if cfg.StoreClock {
		base := awsCfg.HTTPClient
		if base == nil {
			base = awshttp.NewBuildableClient()
		}
		clock := &storeClock{local: cfg.Now}
		awsCfg.HTTPClient = clockClient{base: base, clock: clock}
		now = clock.Now
	}
	db := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	})
	return &Dynamo{cfg: cfg, db: db, now: now}, nil
}

// Now is the clock session expiry is stamped and judged on (the store's
// clock with StoreClock, else Config.Now): a region's in-memory copies of
// sessions must expire on it too.
func (d *Dynamo) Now() time.Time { return d.now() }

// Config returns the effective configuration (defaults applied).
func (d *Dynamo) Config() DynamoConfig { return d.cfg }

// Stats returns the counters.
func (d *Dynamo) Stats() StoreStats {
	return StoreStats{
		Puts:                d.puts.Load(),
		Conflicts:           d.conflicts.Load(),
		OverwrittenMessages: d.overwritten.Load(),
		Errors:              d.errs.Load(),
	}
}

func (d *Dynamo) opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	if d.cfg.OpTimeout > 0 {
		return context.WithTimeout(ctx, d.cfg.OpTimeout)
	}
	return context.WithCancel(ctx)
}

// CreateTable creates the table (pk string hash key, on-demand) if missing, waits until it
// is ACTIVE, then enables TTL on "ttl". Idempotent.
func (d *Dynamo) CreateTable(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.CreateTimeout)
	defer cancel()
	_, err := d.db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(d.cfg.Table),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(attrPK), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	if _, exists := errors.AsType[*types.ResourceInUseException](err); err != nil && !exists {
		return d.classify("create table", err)
	}
	if err := d.waitActive(ctx); err != nil {
		return err
	}
	ttl, err := d.db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(d.cfg.Table)})
	if err != nil {
		return d.classify("describe ttl", err)
	}
	if desc := ttl.TimeToLiveDescription; desc != nil && aws.ToString(desc.AttributeName) == attrTTL &&
		(desc.TimeToLiveStatus == types.TimeToLiveStatusEnabled || desc.TimeToLiveStatus == types.TimeToLiveStatusEnabling) {
		return nil // real DynamoDB rejects enabling TTL twice
	}
	_, err = d.db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(d.cfg.Table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(attrTTL), Enabled: aws.Bool(true)},
	})
	if err != nil {
		return d.classify("update ttl", err)
	}
	return nil
}

// waitActive polls DescribeTable; emulators that report no status count as ACTIVE.
func (d *Dynamo) waitActive(ctx context.Context) error {
	tick := time.NewTicker(d.cfg.PollInterval)
	defer tick.Stop()
	for {
		out, err := d.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(d.cfg.Table)})
		if err != nil {
			return d.classify("describe table", err)
		}
		if st := out.Table.TableStatus; st == "" || st == types.TableStatusActive {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("dynamodb: table %q not ACTIVE (last %s): %w", d.cfg.Table, out.Table.TableStatus, ctx.Err())
		case <-tick.C:
		}
	}
}

// Ping checks that the endpoint answers and the table exists.
func (d *Dynamo) Ping(ctx context.Context) error {
	ctx, cancel := d.opCtx(ctx)
	defer cancel()
	_, err := d.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(d.cfg.Table)})
	if err != nil {
		return d.classify("ping", err)
	}
	return nil
}

// Get is a consistent read that enforces the TTL itself (SPEC §5 defect 7).
func (d *Dynamo) Get(ctx context.Context, id string) (*Session, error) {
	if id == "" {
		return nil, errors.New("get: session id: required")
	}
	ctx, cancel := d.opCtx(ctx)
	defer cancel()
	item, err := d.getItem(ctx, id)
	if err != nil {
		return nil, err
	}
	if item == nil {
		return nil, fmt.Errorf("session %q: %w", id, ErrNotFound)
	}
	s, err := decodeItem(item)
	if err != nil {
		d.errs.Add(1)
		return nil, fmt.Errorf("session %q: %w", id, err)
	}
	if !d.now().Before(s.ExpiresAt) {
		return nil, &ExpiredError{SessionID: id, ExpiredAt: s.ExpiresAt, Owner: s.Owner}
	}
	return s, nil
}

func (d *Dynamo) getItem(ctx context.Context, id string) (map[string]types.AttributeValue, error) {
	out, err := d.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(d.cfg.Table),
		Key:            map[string]types.AttributeValue{attrPK: &types.AttributeValueMemberS{Value: pk(id)}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, d.classify("get", err)
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	return out.Item, nil
}

// ConflictError is the ErrConflict a writer gets when its version is stale (version-wins)
// or when the live item belongs to another owner (every strategy).
type ConflictError struct {
	SessionID string
	Current   int64 // -1 when the store did not say
	Attempted int64
	// OtherOwner: the live item has another owner than the write carried (the session
	// was re-created after expiry by another token); nothing was written.
	OtherOwner bool
}

func (e *ConflictError) Error() string {
	if e.OtherOwner {
		return fmt.Sprintf("session %q: version conflict: the live session has another owner; a write cannot change it", e.SessionID)
	}
	cur := "unknown"
	if e.Current >= 0 {
		cur = strconv.FormatInt(e.Current, 10)
	}
	return fmt.Sprintf("session %q: version conflict: current version %s, attempted %d", e.SessionID, cur, e.Attempted)
}

// Is makes errors.Is(err, ErrConflict) hold.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// Put writes s according to the configured strategy. It sets s.ExpiresAt to the new expiry;
// nothing else in s is modified.
func (d *Dynamo) Put(ctx context.Context, s *Session) (PutResult, error) {
	if s == nil || s.ID == "" {
		return PutResult{}, errors.New("put: session.id: required")
	}
	if s.Version < 1 {
		return PutResult{}, fmt.Errorf("put: session.version: %d must be >= 1", s.Version)
	}
	ctx, cancel := d.opCtx(ctx)
	defer cancel()
	var (
		res PutResult
		err error
	)
	if d.cfg.Strategy == Merge {
		res, err = d.putMerge(ctx, s)
	} else {
		res, err = d.putDirect(ctx, s)
	}
	if err != nil {
		if errors.Is(err, ErrConflict) {
			d.conflicts.Add(1)
		}
		return res, err
	}
	d.puts.Add(1)
	d.overwritten.Add(int64(len(res.Overwritten)))
	s.ExpiresAt = res.ExpiresAt
	return res, nil
}

// putDirect implements version-wins (conditional on the version) and last-write-wins
// (unconditional on the version). Under both, a live item's owner never changes: only a
// write over an absent or expired item (a re-create) may set it, so no write hands a
// session to another token or strips its owner.
func (d *Dynamo) putDirect(ctx context.Context, s *Session) (PutResult, error) {
	now := d.now()
	kept := bound(s.Messages, d.cfg.MaxMessages)
	// Recorded from the whole list before the bound: a message trimmed here stays known.
	item, exp, err := d.encodeItem(s, kept, RecordMessages(s.Seen, s.Messages), s.Version, s.State, s.Owner, now)
	if err != nil {
		return PutResult{}, err
	}
	in := &dynamodb.PutItemInput{
		TableName:    aws.String(d.cfg.Table),
		Item:         item,
		ReturnValues: types.ReturnValueAllOld,
		ExpressionAttributeNames: map[string]string{
			"#v": attrVersion, "#e": attrExpiresAtMs, "#o": attrOwner,
		},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":now": num(now.UnixMilli())},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	sameOwner := "attribute_not_exists(#o)" // an item without owner stays without one
	if s.Owner != "" {
		sameOwner = "#o = :o"
		in.ExpressionAttributeValues[":o"] = str(s.Owner)
	}
	// An expired item may be replaced by any version and owner, so an id can be reused
	// after expiry (the re-authentication path).
	cond := "attribute_not_exists(#v) OR #e <= :now OR " + sameOwner
	if d.cfg.Strategy == VersionWins {
		cond = "attribute_not_exists(#v) OR #e <= :now OR (#v < :v AND " + sameOwner + ")"
		in.ExpressionAttributeValues[":v"] = num(s.Version)
	}
	in.ConditionExpression = aws.String(cond)
	out, err := d.db.PutItem(ctx, in)
	if err != nil {
		if ccf, ok := errors.AsType[*types.ConditionalCheckFailedException](err); ok {
			ce := &ConflictError{SessionID: s.ID, Current: -1, Attempted: s.Version}
			if v, ok := ccf.Item[attrVersion].(*types.AttributeValueMemberN); ok {
				if n, perr := strconv.ParseInt(v.Value, 10, 64); perr == nil {
					ce.Current = n
				}
			}
			stored := ""
			if o, ok := ccf.Item[attrOwner].(*types.AttributeValueMemberS); ok {
				stored = o.Value
			}
			ce.OtherOwner = len(ccf.Item) > 0 && stored != s.Owner
			return PutResult{}, ce
		}
		return PutResult{}, d.classify("put", err)
	}
	res := PutResult{Version: s.Version, ExpiresAt: exp}
	if len(out.Attributes) > 0 {
		old, derr := decodeItem(out.Attributes)
		if derr != nil {
			d.errs.Add(1)
			return res, fmt.Errorf("put session %q: written, but previous item unreadable: %w", s.ID, derr)
		}
		res.PreviousRegion = old.LastActiveRegion
		if now.Before(old.ExpiresAt) { // messages of an expired session were not lost to this write
			res.Overwritten = overwritten(old.Messages, s.Messages, kept)
		}
	}
	return res, nil
}

// putMerge reads the current item, unions the conversations and writes with an optimistic
// condition on the version it read, retrying when another writer got in between.
func (d *Dynamo) putMerge(ctx context.Context, s *Session) (PutResult, error) {
	for range d.cfg.MergeAttempts {
		curItem, err := d.getItem(ctx, s.ID)
		if err != nil {
			return PutResult{}, err
		}
		now := d.now()
		var cur *Session
		if curItem != nil {
			if cur, err = decodeItem(curItem); err != nil {
				d.errs.Add(1)
				return PutResult{}, fmt.Errorf("merge session %q: current item unreadable: %w", s.ID, err)
			}
		}
		version := s.Version
		msgs, state, seen := s.Messages, s.State, s.Seen
		in := &dynamodb.PutItemInput{TableName: aws.String(d.cfg.Table)}
		if cur == nil {
			in.ConditionExpression = aws.String("attribute_not_exists(#pk)")
			in.ExpressionAttributeNames = map[string]string{"#pk": attrPK}
		} else {
			if version <= cur.Version { // never reuse or go back below what is stored
				version = cur.Version + 1
			}
			if now.Before(cur.ExpiresAt) && cur.Owner != s.Owner {
				// The stored owner wins, as under the other strategies: a write of another
				// owner's session (an incarnation before a re-create) is refused, not merged,
				// so its conversation never shows to the new owner.
				return PutResult{}, &ConflictError{SessionID: s.ID, Current: cur.Version, Attempted: s.Version, OtherOwner: true}
			}
			if now.Before(cur.ExpiresAt) { // an expired conversation is not resurrected
				msgs = MergeMessages(cur.Messages, stampNew(s.Messages, cur.Messages, s.Version, version))
				state = mergeState(cur.State, s.State)
				// Both regions' ids stay known: a retry of either's message is a duplicate.
				seen = MergeSeen(cur.Seen, stampNewSeen(s.Seen, cur.Seen, s.Version, version))
			} else {
				msgs = stampNew(s.Messages, nil, s.Version, version)
				seen = stampNewSeen(s.Seen, nil, s.Version, version)
			}
			in.ConditionExpression = aws.String("#v = :cur")
			in.ExpressionAttributeNames = map[string]string{"#v": attrVersion}
			in.ExpressionAttributeValues = map[string]types.AttributeValue{":cur": num(cur.Version)}
		}
		kept := bound(msgs, d.cfg.MaxMessages)
		// The owner is the stored one (checked above) or, over an absent or expired item, the writer's.
		item, exp, err := d.encodeItem(s, kept, RecordMessages(seen, msgs), version, state, s.Owner, now)
		if err != nil {
			return PutResult{}, err
		}
		in.Item = item
		_, err = d.db.PutItem(ctx, in)
		if _, ok := errors.AsType[*types.ConditionalCheckFailedException](err); ok {
			continue // someone wrote in between: re-read and merge again
		}
		if err != nil {
			return PutResult{}, d.classify("merge put", err)
		}
		res := PutResult{Version: version, ExpiresAt: exp}
		if cur != nil {
			res.PreviousRegion = cur.LastActiveRegion
			if now.Before(cur.ExpiresAt) { // always empty: the union holds every stored message
				res.Overwritten = overwritten(cur.Messages, msgs, kept)
			}
		}
		return res, nil
	}
	return PutResult{}, fmt.Errorf("merge session %q: gave up after %d concurrent writes: %w", s.ID, d.cfg.MergeAttempts, ErrConflict)
}

// classify wraps transport failures, timeouts, throttling and 5xx answers in ErrUnavailable,
// so callers can tell "store unreachable" from a bad request.
func (d *Dynamo) classify(op string, err error) error {
	d.errs.Add(1)
	// Both the AWS and the smithy response error carry the status; match the method, not a type.
	if re, ok := errors.AsType[interface {
		error
		HTTPStatusCode() int
	}](err); ok && re.HTTPStatusCode() >= 500 {
		return fmt.Errorf("dynamodb %s: %w: %w", op, ErrUnavailable, err)
	}
	if apiErr, ok := errors.AsType[smithy.APIError](err); ok {
		// Real DynamoDB's answer to an item over 400 KB; the guard in encodeItem should
		// have refused it first, but the client must see the same answer either way.
		if apiErr.ErrorCode() == "ValidationException" && strings.Contains(apiErr.ErrorMessage(), "size") {
			return fmt.Errorf("dynamodb %s: %w: %w", op, ErrTooLarge, err)
		}
		switch apiErr.ErrorCode() {
		case "ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded", "InternalServerError", "ServiceUnavailable",
			"ResourceNotFoundException": // no table: the store cannot take this region's writes
			return fmt.Errorf("dynamodb %s: %w: %w", op, ErrUnavailable, err)
		}
		return fmt.Errorf("dynamodb %s: %w", op, err)
	}
	// No answer at all: connection refused/reset, timeout, or the caller's deadline.
	return fmt.Errorf("dynamodb %s: %w: %w", op, ErrUnavailable, err)
}

func pk(id string) string { return "session#" + id }

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

// encodeItem builds the item and refuses one over MaxItemBytes (TooLargeError), so an
// oversized session is answered before anything is written.
func (d *Dynamo) encodeItem(s *Session, msgs []Message, seen []SeenID, version int64, state map[string]string, owner string, now time.Time) (map[string]types.AttributeValue, time.Time, error) {
	exp := now.Add(d.cfg.TTL)
	item, err := buildItem(s, msgs, seen, version, state, owner, now, exp)
	if err != nil {
		return nil, time.Time{}, err
	}
	if n := itemSize(item); n > MaxItemBytes {
		return nil, time.Time{}, &TooLargeError{SessionID: s.ID, Size: n, Limit: MaxItemBytes}
	}
	return item, exp, nil
}

// ItemSize is the size s would have as a stored item, counted as the guard of every
// write counts it: a writer that acknowledges before it writes (periodic checkpoints)
// checks it first, so it never acknowledges what the store would refuse. s.Messages is
// taken as given (bound it first); the id record includes its user messages.
func ItemSize(s *Session) (int, error) {
	item, err := buildItem(s, s.Messages, RecordMessages(s.Seen, s.Messages), s.Version, s.State, s.Owner, s.LastActiveAt, s.ExpiresAt)
	if err != nil {
		return 0, err
	}
	return itemSize(item), nil
}

// CheckItemSize returns a TooLargeError when ItemSize(s) exceeds MaxItemBytes.
func CheckItemSize(s *Session) error {
	n, err := ItemSize(s)
	if err != nil {
		return err
	}
	if n > MaxItemBytes {
		return &TooLargeError{SessionID: s.ID, Size: n, Limit: MaxItemBytes}
	}
	return nil
}

// itemSize counts an item as DynamoDB does: each attribute's name plus its value, strings
// by their UTF-8 bytes; numbers at DynamoDB's 21-byte maximum so the count never falls
// short of the real one.
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name)
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			n += len(v.Value)
		case *types.AttributeValueMemberN:
			n += 21
		default:
			n += 400 << 10 // not written by this package: count it as too large
		}
	}
	return n
}

// buildItem builds the item; the conversation, state and id record are JSON strings so
// that every DynamoDB-compatible endpoint stores them identically.
func buildItem(s *Session, msgs []Message, seen []SeenID, version int64, state map[string]string, owner string, now, exp time.Time) (map[string]types.AttributeValue, error) {
	if msgs == nil {
		msgs = []Message{}
	}
	conv, err := json.Marshal(msgs)
	if err != nil {
		return nil, fmt.Errorf("put session %q: messages: %w", s.ID, err)
	}
	if state == nil {
		state = map[string]string{}
	}
	st, err := json.Marshal(state)
	if err != nil {
		return nil, fmt.Errorf("put session %q: state: %w", s.ID, err)
	}
	activeAt := s.LastActiveAt
	if activeAt.IsZero() {
		activeAt = now
	}
	item := map[string]types.AttributeValue{
		attrPK:           str(pk(s.ID)),
		attrConversation: str(string(conv)),
		attrVersion:      num(version),
		attrActiveAt:     str(activeAt.UTC().Format(time.RFC3339Nano)),
		attrState:        str(string(st)),
		attrExpiresAtMs:  num(exp.UnixMilli()),
		// Rounded up so DynamoDB never deletes the item before it expires for readers.
		attrTTL: num((exp.UnixMilli() + 999) / 1000),
	}
	// Empty strings are omitted: older DynamoDB-compatible endpoints reject them.
	if s.LastActiveRegion != "" {
		item[attrRegion] = str(s.LastActiveRegion)
	}
	if s.UserID != "" {
		item[attrUserID] = str(s.UserID)
	}
	if owner != "" { // absent on items written before owners existed; never written as ""
		item[attrOwner] = str(owner)
	}
	if len(seen) > 0 {
		rec, err := json.Marshal(seen)
		if err != nil {
			return nil, fmt.Errorf("put session %q: seen: %w", s.ID, err)
		}
		item[attrSeen] = str(string(rec))
	}
	return item, nil
}

func decodeItem(item map[string]types.AttributeValue) (*Session, error) {
	getS := func(name string) string {
		if v, ok := item[name].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	getN := func(name string) (int64, error) {
		v, ok := item[name].(*types.AttributeValueMemberN)
		if !ok {
			return 0, fmt.Errorf("item attribute %s: missing or not a number", name)
		}
		n, err := strconv.ParseInt(v.Value, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("item attribute %s: %w", name, err)
		}
		return n, nil
	}
	id := getS(attrPK)
	if len(id) < len("session#") || id[:len("session#")] != "session#" {
		return nil, fmt.Errorf("item attribute pk: %q lacks the session# prefix", id)
	}
	s := &Session{ID: id[len("session#"):], UserID: getS(attrUserID), LastActiveRegion: getS(attrRegion), Owner: getS(attrOwner)}
	var err error
	if s.Version, err = getN(attrVersion); err != nil {
		return nil, err
	}
	if raw := getS(attrConversation); raw != "" {
		if err := json.Unmarshal([]byte(raw), &s.Messages); err != nil {
			return nil, fmt.Errorf("item attribute conversation: %w", err)
		}
	}
	if raw := getS(attrSeen); raw != "" {
		if err := json.Unmarshal([]byte(raw), &s.Seen); err != nil {
			return nil, fmt.Errorf("item attribute seen: %w", err)
		}
	}
	if raw := getS(attrState); raw != "" {
		if err := json.Unmarshal([]byte(raw), &s.State); err != nil {
			return nil, fmt.Errorf("item attribute state: %w", err)
		}
	}
	if raw := getS(attrActiveAt); raw != "" {
		if s.LastActiveAt, err = time.Parse(time.RFC3339Nano, raw); err != nil {
			return nil, fmt.Errorf("item attribute lastActiveAt: %w", err)
		}
	}
	if ms, err := getN(attrExpiresAtMs); err == nil {
		s.ExpiresAt = time.UnixMilli(ms)
	} else if sec, err2 := getN(attrTTL); err2 == nil { // item written by another tool
		s.ExpiresAt = time.Unix(sec, 0)
	} else {
		return nil, fmt.Errorf("item attributes expiresAtMs and ttl: both missing")
	}
	return s, nil
}

// bound keeps the last n messages (SPEC §5 defect 8).
func bound(msgs []Message, n int) []Message {
	if len(msgs) > n {
		msgs = msgs[len(msgs)-n:]
	}
	return slices.Clone(msgs)
}

// overwritten lists the messages of old (the item before the write, in stored order)
// that the write removed without knowing them. written is the writer's full list before
// the store's bound; kept is what was stored. Positions, not timestamps, decide, since
// timestamps come from different regions' clocks:
//
// let p be the index in old of the first message also in written (len(old) if none).
// A message of old missing from kept is overwritten if it is not in written and its
// index is > p, or p == len(old) (the writer shares nothing with old). Messages before p
// are older than the writer's whole window: the bound evicted them (here or in the
// writer's own copy). Messages in written but cut by the bound were evicted too.
func overwritten(old, written, kept []Message) []string {
	inWritten := make(map[string]bool, len(written))
	for _, m := range written {
		inWritten[m.ID] = true
	}
	inKept := make(map[string]bool, len(kept))
	for _, m := range kept {
		inKept[m.ID] = true
	}
	p := len(old)
	for i, m := range old {
		if inWritten[m.ID] {
			p = i
			break
		}
	}
	var lost []string
	for i, m := range old {
		if !inKept[m.ID] && !inWritten[m.ID] && (i > p || p == len(old)) {
			lost = append(lost, m.ID)
		}
	}
	return lost
}

// stampNew returns msgs with the version actually written (merge may pick one above the
// requested version) set on messages new to the store that carry the requested version,
// so a message's Version stays the version of the write that first stored it.
func stampNew(msgs, stored []Message, requested, written int64) []Message {
	if requested == written {
		return msgs
	}
	have := make(map[string]bool, len(stored))
	for _, m := range stored {
		have[m.ID] = true
	}
	out := slices.Clone(msgs)
	for i := range out {
		if !have[out[i].ID] && out[i].Version == requested {
			out[i].Version = written
		}
	}
	return out
}

// stampNewSeen is stampNew for the id record: entries new to stored that carry the
// requested version get the version actually written, as their messages do.
func stampNewSeen(seen, stored []SeenID, requested, written int64) []SeenID {
	if requested == written {
		return seen
	}
	have := make(map[string]bool, len(stored))
	for _, e := range stored {
		have[e.ID] = true
	}
	out := slices.Clone(seen)
	for i := range out {
		if !have[out[i].ID] && out[i].Version == requested {
			out[i].Version = written
		}
	}
	return out
}

// mergeState overlays b on a; b (the writer's view) wins per key.
func mergeState(a, b map[string]string) map[string]string {
	out := make(map[string]string, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
