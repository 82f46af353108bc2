/* notify.h - tell systemd about readiness, reloads and stopping over $NOTIFY_SOCKET */
#ifndef DNS64D_NOTIFY_H
#define DNS64D_NOTIFY_H

/* Send a state string such as "READY=1"; a no-op without $NOTIFY_SOCKET. Returns 0 or -errno. */
int notify_send(const char *state);

#endif
