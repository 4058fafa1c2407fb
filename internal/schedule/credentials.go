package schedule

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"reserver/internal/booking"
	"reserver/internal/profile"
)

// useSession takes the session for the booking's site account and
// password. Bookings share a session only when they are of the same
// tenant's account and log in with the same password, so a booking never
// rides on a session that other credentials logged in: its own login
// proves its password.
func (r *run) useSession(password string) error {
	acct := profile.AccountData{Username: r.b.Account.Username, Password: password}
	sess, release, err := r.d.pool.Acquire(fmt.Sprintf("account:%d", r.b.AccountID), r.prof, acct)
	if err != nil {
		return err
	}
	if r.releaseSession != nil {
		r.releaseSession()
	}
	r.sess, r.releaseSession, r.password = sess, release, password
	// Already the account's password: nothing to prove to the database
	// (the usual case, decided here without a query).
	cur, err := r.d.cfg.Store.Password(r.b.Account)
	r.proven = err == nil && cur == password
	if r.eg.Name() != "" { // placed already: keep the egress
		r.sess.SetTransport(r.d.sessionTransport(r.account, r.eg))
	}
	return nil
}

// loggedIn notes a login that succeeded with the booking's password: a
// password the account did not have yet is now proven, and applies to the
// next login of the account's older bookings. It writes at most once per
// run, and not at all when the password was the account's already.
func (r *run) loggedIn() {
	if r.proven {
		return
	}
	r.proven = true
	ctx, cancel := context.WithTimeout(r.ctx, 5*time.Second)
	defer cancel()
	if err := r.d.cfg.Store.ProvePassword(ctx, r.b.AccountID, r.password, time.Now()); err != nil {
		r.log.Warn("recording the proven site password failed", zap.Error(err))
	}
}

// otherPassword is asked when the site rejected the booking's password:
// if a login of another booking proved a new password for the account
// since this booking was made, the booking moves to it (a new session) and
// true is returned so that the caller logs in again; otherwise the
// rejection stands and fails this booking only.
func (r *run) otherPassword() bool {
	ctx, cancel := context.WithTimeout(r.ctx, 5*time.Second)
	defer cancel()
	b, err := r.d.cfg.Store.Get(ctx, booking.Scope{All: true}, r.b.ID)
	if err != nil {
		return false
	}
	pw, err := r.d.cfg.Store.LoginPassword(b)
	if err != nil || pw == r.password {
		return false
	}
	if err := r.useSession(pw); err != nil {
		return false
	}
	r.log.Info("the account's password was changed and proven since this booking was made: logging in with it")
	r.d.event(r.b.ID, "login rejected; the account's newer password is used")
	return true
}

// patchedPassword is the password the booking logs in with as stored now
// that it is running: a PATCH may have replaced it while the booking was
// armed, and none can any more (the API refuses a password once the
// booking is running, and the move to running and the patch are both
// conditional on the state, so one of them sees the other). read is the
// one read at arming, kept when the database does not answer at once.
func (r *run) patchedPassword(read string) string {
	ctx, cancel := context.WithTimeout(r.ctx, 5*time.Second)
	defer cancel()
	b, err := r.d.cfg.Store.Get(ctx, booking.Scope{All: true}, r.b.ID)
	if err == nil && b.PasswordSetAt != nil && (r.b.PasswordSetAt == nil || b.PasswordSetAt.After(*r.b.PasswordSetAt)) {
		var pw string
		if pw, err = r.d.cfg.Store.LoginPassword(b); err == nil {
			r.d.event(r.b.ID, "the password was changed while armed: logging in with the new one")
			return pw
		}
	}
	if err != nil {
		r.log.Warn("the booking's password could not be read again; using the one read at arming", zap.Error(err))
	}
	return read
}
