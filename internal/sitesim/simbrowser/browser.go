package simbrowser

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// ErrNoChromium is returned by ChromiumPath when no Chromium is installed.
var ErrNoChromium = errors.New("simbrowser: chromium is not installed (apt-get install -y chromium)")

// ChromiumPath finds the Debian Chromium package.
func ChromiumPath() (string, error) {
	for _, p := range []string{"/usr/bin/chromium", "chromium"} {
		if path, err := exec.LookPath(p); err == nil {
			return path, nil
		}
	}
	return "", ErrNoChromium
}

// NewBrowser starts a headless Chromium (the binary at path, profiles in
// dataDir) and returns its context, already running, and a func that
// stops it.
func NewBrowser(ctx context.Context, path, dataDir string, extra ...chromedp.ExecAllocatorOption) (context.Context, context.CancelFunc, error) {
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(dataDir),
	}, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancel := chromedp.NewContext(actx)
	stop := func() { cancel(); cancelAlloc() }
	if err := chromedp.Do(bctx); err != nil {
		stop()
		return nil, nil, err
	}
	return bctx, stop, nil
}

// StartForTest starts the browser for a test, stopped when it ends. Without
// Chromium the test is skipped on a developer's machine and fails in CI
// (CI is set), where .ci/run installs it.
func StartForTest(t testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path, err := ChromiumPath()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed but CI is set: the browser test must run (apt-get install -y chromium)")
		}
		t.Skip(err.Error() + "; skipping the browser test outside CI")
	}
	ctx, stop, err := NewBrowser(context.Background(), path, t.TempDir(), extra...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return ctx
}
