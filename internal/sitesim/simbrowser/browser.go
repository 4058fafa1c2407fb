package simbrowser

import (
	"context"
	"errors"
	"os/exec"

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
func NewBrowser(ctx context.Context, path, dataDir string) (context.Context, context.CancelFunc, error) {
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(dataDir),
	)
	bctx, cancel := chromedp.NewContext(actx)
	stop := func() { cancel(); cancelAlloc() }
	if err := chromedp.Do(bctx); err != nil {
		stop()
		return nil, nil, err
	}
	return bctx, stop, nil
}
