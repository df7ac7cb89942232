package app

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/ansinh/ansinh/internal/platform/db"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/config"
)

// ErrVerifyFailed is returned (and the command exits non-zero) when the audit
// trail does not verify.
var ErrVerifyFailed = errors.New("the audit trail does not verify")

// RunAuditVerify recomputes every sealed block and checks the log still
// extends a checkpoint: the one in checkpointFile when given, else the newest
// one published to the configured witness, unless noWitness. It prints the
// report as JSON.
func RunAuditVerify(ctx context.Context, cfg *config.Config, log *slog.Logger, checkpointFile string, noWitness bool, out io.Writer) error {
	cp, source, err := verifyCheckpoint(ctx, cfg, log, checkpointFile, noWitness)
	if err != nil {
		return err
	}
	pool, err := OpenDB(cfg, log)
	if err != nil {
		return err
	}
	defer pool.Close()
	v, err := newVerifier(cfg, pool)
	if err != nil {
		return err
	}
	r, err := v.Verify(db.WithKind(ctx, db.Job), cp)
	if err != nil {
		return err
	}
	r.Witness = source
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return err
	}
	if !r.OK {
		return fmt.Errorf("%w: %s", ErrVerifyFailed, r.Problem)
	}
	return nil
}

// verifyCheckpoint is the checkpoint verification checks against and a line
// saying where it came from.
func verifyCheckpoint(ctx context.Context, cfg *config.Config, log *slog.Logger, file string, noWitness bool) (*audit.Checkpoint, string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, "", err
		}
		cp, err := audit.ParseCheckpoint(b)
		return cp, "", err
	}
	if noWitness {
		return nil, "skipped (--no-witness)", nil
	}
	w, err := newWitness(ctx, cfg.Audit, log)
	if err != nil {
		return nil, "", err
	}
	if w == nil {
		return nil, "", errors.New("no audit witness is configured (audit.witness: none): pass --no-witness to verify without one")
	}
	cp, err := w.Latest(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("reading the audit witness: %w", err)
	}
	if cp == nil {
		return nil, w.String() + ": no checkpoint published yet", nil
	}
	cp.Source = w.String()
	return cp, fmt.Sprintf("%s: block %d", w, cp.Seq), nil
}

// newWitness opens the configured witness; nil when none.
func newWitness(ctx context.Context, c config.Audit, log *slog.Logger) (audit.Witness, error) {
	switch c.Witness {
	case "dir":
		return audit.NewDirWitness(c.WitnessDir)
	case "s3":
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		w, err := audit.NewS3Witness(ctx, audit.S3WitnessOptions{Options: s3Options(c.WitnessS3),
			Prefix: c.WitnessS3Prefix, Retention: c.WitnessRetention})
		if err == nil && !w.ObjectLock() {
			log.Warn("audit witness: the bucket has no object lock; checkpoints are protected only by its access policy",
				"bucket", c.WitnessS3.Bucket)
		}
		return w, err
	}
	return nil, nil
}

// RunAuditCheckpoint prints the newest signed block head, for off-site keeping.
func RunAuditCheckpoint(ctx context.Context, cfg *config.Config, log *slog.Logger, out io.Writer) error {
	pool, err := OpenDB(cfg, log)
	if err != nil {
		return err
	}
	defer pool.Close()
	v, err := newVerifier(cfg, pool)
	if err != nil {
		return err
	}
	cp, err := v.Head(ctx)
	if err != nil {
		return err
	}
	if cp == nil {
		return errors.New("nothing is sealed yet: there is no checkpoint to take")
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(cp)
}

// RunAuditSeal seals every pending event once (serve does this continuously).
func RunAuditSeal(ctx context.Context, cfg *config.Config, log *slog.Logger, out io.Writer) error {
	pool, err := OpenDB(cfg, log)
	if err != nil {
		return err
	}
	defer pool.Close()
	key, err := cfg.Audit.SealPrivateKey()
	if err != nil {
		return err
	}
	w, err := newWitness(ctx, cfg.Audit, log)
	if err != nil {
		return err
	}
	s := audit.NewSealer(pool, audit.SealerOptions{Key: key, MaxEvents: cfg.Audit.SealMaxEvents, Logger: log, Witness: w})
	n, err := s.SealPending(access.WithActor(ctx, access.System("audit-seal")))
	if err != nil {
		return err
	}
	if err := s.Publish(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, "events sealed: %d\n", n)
	return nil
}

// RunAuditPartitions creates the audit tables' monthly partitions ahead (owner role).
func RunAuditPartitions(ctx context.Context, cfg *config.Config, months int, out io.Writer) error {
	if months < 0 || months > 120 {
		return fmt.Errorf("--months is %d; want 0..120", months)
	}
	if err := ensurePartitions(ctx, cfg, months); err != nil {
		return err
	}
	fmt.Fprintf(out, "audit partitions exist through %d month(s) ahead\n", months)
	return nil
}

// RunAuditKeygen prints a new seal key and its public half. The private key
// goes to a secret store as ANSINH_AUDIT_SEAL_KEY; after a rotation the old
// public key joins ANSINH_AUDIT_VERIFY_KEYS.
func RunAuditKeygen(out io.Writer) error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "ANSINH_AUDIT_SEAL_KEY=%s\n# public key (for ANSINH_AUDIT_VERIFY_KEYS after a rotation), id %s:\n# %s\n",
		base64.StdEncoding.EncodeToString(priv.Seed()), audit.KeyID(pub), base64.StdEncoding.EncodeToString(pub))
	return nil
}
