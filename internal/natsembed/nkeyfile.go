package natsembed

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/nats-io/nkeys"
)

// ErrKeyFileExposed reports a file holding an nkey seed that users other than its owner
// can read. A seed is a password: like ssh with a private key, the server refuses to
// use one that may already have leaked.
var ErrKeyFileExposed = errors.New("natsembed: nkey seed file is readable by group or others")

// ReadNKeyFile returns the public user key in the file at path, which holds either a user
// seed (SU…, as `nk -gen user` writes it and `nats --nkey` reads it) or a public user key
// (U…, when the seed stays with the subscriber). A seed file must not be readable by
// group or others. The seed never leaves this function.
func ReadNKeyFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("natsembed: read nkey file: %w", err)
	}
	defer wipe(b)
	text := bytes.TrimSpace(b)
	if nkeys.IsValidPublicUserKey(string(text)) {
		return string(text), nil
	}
	if !bytes.HasPrefix(text, []byte("SU")) {
		return "", fmt.Errorf("natsembed: %s holds no user nkey: want a seed (SU…) or a public user key (U…), one line", path)
	}
	kp, err := nkeys.FromSeed(text)
	if err != nil {
		// The error of nkeys never quotes the seed, but say nothing of it either way.
		return "", fmt.Errorf("natsembed: %s holds no valid user seed", path)
	}
	defer kp.Wipe()
	if err := checkPrivate(path); err != nil {
		return "", err
	}
	return kp.PublicKey()
}

// LoadOrCreateNKeyFile returns the public user key in the file at path, first writing a
// new user seed there (mode 0600) when the file does not exist. created reports that it
// did. The file is written under a temporary name and renamed, so a crash never leaves
// a partial seed behind for the next start to trip over.
func LoadOrCreateNKeyFile(path string) (pub string, created bool, err error) {
	switch _, err := os.Lstat(path); {
	case err == nil:
		pub, err := ReadNKeyFile(path)
		return pub, false, err
	case !errors.Is(err, fs.ErrNotExist):
		return "", false, fmt.Errorf("natsembed: nkey file: %w", err)
	}
	kp, err := nkeys.CreateUser()
	if err != nil {
		return "", false, fmt.Errorf("natsembed: generate nkey: %w", err)
	}
	defer kp.Wipe()
	seed, err := kp.Seed()
	if err != nil {
		return "", false, fmt.Errorf("natsembed: generate nkey: %w", err)
	}
	defer wipe(seed)
	if err := writePrivate(path, append(seed, '\n')); err != nil {
		return "", false, err
	}
	pub, err = kp.PublicKey()
	return pub, true, err
}

// writePrivate writes data to path atomically, readable by the owner only.
func writePrivate(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*") // mode 0600
	if err != nil {
		return fmt.Errorf("natsembed: write nkey file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("natsembed: write nkey file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("natsembed: write nkey file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("natsembed: write nkey file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("natsembed: write nkey file: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		// Make the rename durable: after a power cut the next start must find the same
		// key its subscribers were given.
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// checkPrivate refuses a file that group or others may read. Windows has no such mode
// bits; its ACLs are the operator's to set.
func checkPrivate(path string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("natsembed: nkey file: %w", err)
	}
	if mode := fi.Mode().Perm(); mode&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %04o; chmod 600 it (or replace it with the public key, U…)",
			ErrKeyFileExposed, path, mode)
	}
	return nil
}

func wipe(b []byte) {
	for i := range b {
		b[i] = 'x'
	}
}
