package audit

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Why a witness: whoever can write the database can delete the newest blocks,
// alter their events and let the sealer sign them again; the chain then
// verifies. A checkpoint kept outside the database cannot be rewritten that
// way: the sealer publishes each new head to a witness, and verification
// requires the chain to hold the witness's newest checkpoint, hash for hash.
// The sealer also refuses to publish a head whose chain no longer holds the
// last published checkpoint, so a rewrite cannot move the witness on.

// Witness keeps checkpoints outside the database. Publish never replaces a
// checkpoint: publishing the same one again is a no-op, a different one for
// the same block is ErrWitnessConflict.
type Witness interface {
	Publish(ctx context.Context, cp Checkpoint) error
	// Latest is the checkpoint with the highest seq, nil when none is published.
	Latest(ctx context.Context) (*Checkpoint, error)
	// String names the witness in reports.
	String() string
}

// ErrWitnessConflict: the witness holds another checkpoint for the same block.
var ErrWitnessConflict = errors.New("audit witness: a different checkpoint for this block is already published")

// ErrWitnessAhead: the chain no longer holds the witness's newest checkpoint.
var ErrWitnessAhead = errors.New("audit witness: the chain no longer extends the published checkpoint")

// sameCheckpoint compares what identifies a head: its block and hash.
func sameCheckpoint(a, b Checkpoint) bool {
	return a.Seq == b.Seq && strings.EqualFold(a.BlockHash, b.BlockHash)
}

func encodeCheckpoint(cp Checkpoint) ([]byte, error) {
	b, err := json.MarshalIndent(cp, "", "  ")
	return append(b, '\n'), err
}

// DirWitness keeps one file per checkpoint in a directory (ideally a mount
// the database's administrators cannot write): dir/<seq/10000>/<seq>.json,
// written to a temporary file and linked into place, so that a file is whole
// when it appears and an existing one is never replaced.
type DirWitness struct{ dir string }

// NewDirWitness keeps checkpoints in dir, made at the first publication.
func NewDirWitness(dir string) (*DirWitness, error) {
	if dir == "" {
		return nil, errors.New("audit witness: no directory")
	}
	return &DirWitness{dir: dir}, nil
}

const witnessShard = 10_000

func (w *DirWitness) String() string { return "dir " + w.dir }

func (w *DirWitness) path(seq int64) string {
	return filepath.Join(w.dir, fmt.Sprintf("%010d", seq/witnessShard), fmt.Sprintf("%020d.json", seq))
}

// Publish writes the checkpoint's file unless it exists.
func (w *DirWitness) Publish(_ context.Context, cp Checkpoint) error {
	body, err := encodeCheckpoint(cp)
	if err != nil {
		return err
	}
	final := w.path(cp.Seq)
	if err := os.MkdirAll(filepath.Dir(final), 0o750); err != nil {
		return fmt.Errorf("audit witness: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(final), ".checkpoint-*")
	if err != nil {
		return fmt.Errorf("audit witness: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(body)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("audit witness: %w", err)
	}
	// A hard link, unlike a rename, fails when the name exists: never overwritten.
	if err := os.Link(tmp.Name(), final); err != nil {
		if !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("audit witness: %w", err)
		}
		old, err := w.read(final)
		if err != nil {
			return err
		}
		if !sameCheckpoint(*old, cp) {
			return fmt.Errorf("%w: block %d is published as %s, now %s", ErrWitnessConflict, cp.Seq, old.BlockHash, cp.BlockHash)
		}
		return nil
	}
	return syncDir(filepath.Dir(final))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func (w *DirWitness) read(path string) (*Checkpoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit witness: %w", err)
	}
	cp, err := ParseCheckpoint(b)
	if err != nil {
		return nil, fmt.Errorf("audit witness: %s: %w", path, err)
	}
	return cp, nil
}

// Latest reads the newest shard's highest file.
func (w *DirWitness) Latest(context.Context) (*Checkpoint, error) {
	shards, err := numbered(w.dir, "")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // nothing published yet
	}
	if err != nil {
		return nil, err
	}
	for _, s := range slices.Backward(shards) {
		dir := filepath.Join(w.dir, s)
		files, err := numbered(dir, ".json")
		if err != nil {
			return nil, err
		}
		if len(files) > 0 {
			return w.read(filepath.Join(dir, files[len(files)-1]))
		}
	}
	return nil, nil
}

// numbered lists the names in dir made of digits and then suffix, in order
// (they are zero-padded to one width).
func numbered(dir, suffix string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("audit witness: %w", err)
	}
	var out []string
	for _, e := range entries {
		n, ok := strings.CutSuffix(e.Name(), suffix)
		if _, err := strconv.ParseUint(n, 10, 64); ok && err == nil {
			out = append(out, e.Name())
		}
	}
	return out, nil // ReadDir sorts by name
}

// publisher publishes the sealer's new heads to a witness.
type publisher struct {
	mu        sync.Mutex
	witness   Witness
	published int64 // the newest seq known to be on the witness
}

// publish sends the newest block's checkpoint to the witness unless it is
// there already. It refuses when the chain no longer holds the witness's
// newest checkpoint: publishing then would let a rewrite move the witness on.
func (p *publisher) publish(ctx context.Context, st store) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	head, err := st.headCheckpoint(ctx)
	if err != nil || head == nil || head.Seq <= p.published {
		return err
	}
	last, err := p.witness.Latest(ctx)
	if err != nil {
		return err
	}
	if last != nil {
		hash, err := st.blockHashAt(ctx, last.Seq)
		if err != nil {
			return err
		}
		if hash == nil || !strings.EqualFold(hex.EncodeToString(hash), last.BlockHash) {
			return fmt.Errorf("%w: the witness (%s) holds block %d with hash %s; the chain %s", ErrWitnessAhead,
				p.witness, last.Seq, last.BlockHash, describeHash(hash))
		}
		if last.Seq >= head.Seq {
			p.published = last.Seq
			return nil
		}
	}
	if err := p.witness.Publish(ctx, *head); err != nil {
		return err
	}
	p.published = head.Seq
	return nil
}

func describeHash(h []byte) string {
	if h == nil {
		return "has no such block"
	}
	return "has " + hex.EncodeToString(h)
}
