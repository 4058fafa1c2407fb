package journal

// lockFile does not lock on Windows, where reserver is not deployed; two
// processes must not be started on one journal there.
func lockFile(string) (func(), error) { return func() {}, nil }
