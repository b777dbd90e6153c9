// Package sftpd is the SFTP subsystem of the SSH gateway: `sftp job-123@gateway`
// opens the job's directory, and nothing else, as the job's user.
//
// The gateway runs as root and serves many users, so it does not serve SFTP
// itself. Like OpenSSH's internal-sftp under ChrootDirectory, it re-executes
// its own binary as a child (see [Command]); the child, still root, chroots
// into the job directory, drops to the job's uid, gid and groups, and only
// then serves SFTP on its standard input and output. The chroot makes every
// path, "..", and symbolic link resolve inside the job directory; running as
// the user makes the kernel check every permission and gives every created
// file the user's ownership.
//
// A program that uses [Command] must call [Init] first thing in main (and in
// TestMain of the packages whose tests start the child), since the child is
// that same program.
package sftpd

// envMarker is the variable that tells [Init] this process is the child. It
// starts with an underscore to stay out of the GODOCKER_<KEY> namespace of
// configuration overrides.
const envMarker = "_GODOCKER_SFTPD"

// markerValue is envMarker's value; it versions the argument list.
const markerValue = "1"

// childName is the child's argv[0], which is what ps shows.
const childName = "godocker-sftpd"

// maxID is the largest uid or gid accepted: (uid_t)-1 means "unchanged" to
// the set*id system calls.
const maxID = 1<<32 - 2
