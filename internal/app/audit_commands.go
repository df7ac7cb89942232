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

	"github.com/ansinh/ansinh/internal/platform/db"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/config"
)

// ErrVerifyFailed is returned (and the command exits non-zero) when the audit
// trail does not verify.
var ErrVerifyFailed = errors.New("the audit trail does not verify")

// RunAuditVerify recomputes every sealed block and, with checkpointFile, checks
// the log still extends that checkpoint. It prints the report as JSON.
func RunAuditVerify(ctx context.Context, cfg *config.Config, log *slog.Logger, checkpointFile string, out io.Writer) error {
	var cp *audit.Checkpoint
	if checkpointFile != "" {
		b, err := os.ReadFile(checkpointFile)
		if err != nil {
			return err
		}
		if cp, err = audit.ParseCheckpoint(b); err != nil {
			return err
		}
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
	n, err := audit.NewSealer(pool, audit.SealerOptions{Key: key, MaxEvents: cfg.Audit.SealMaxEvents, Logger: log}).
		SealPending(access.WithActor(ctx, access.System("audit-seal")))
	if err != nil {
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
