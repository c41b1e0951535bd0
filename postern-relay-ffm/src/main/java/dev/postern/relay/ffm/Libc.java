package dev.postern.relay.ffm;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The Linux C library calls the relay loop makes, and the constants and struct layouts it needs (the
 * same on x86-64 and arm64, except {@code struct epoll_event}, which x86-64 packs).
 */
final class Libc {

    static final int AF_INET = 2;
    static final int AF_INET6 = 10;
    static final int SOCK_DGRAM = 2;
    static final int SOCK_NONBLOCK = 0x800;
    static final int SOCK_CLOEXEC = 0x80000;
    static final int SOL_SOCKET = 1;
    static final int SO_SNDBUF = 7;
    static final int SO_RCVBUF = 8;
    static final int EFD_NONBLOCK = 0x800;
    static final int EFD_CLOEXEC = 0x80000;
    static final int EPOLL_CLOEXEC = 0x80000;
    static final int EPOLL_CTL_ADD = 1;
    static final int EPOLL_CTL_DEL = 2;
    static final int EPOLLIN = 1;
    static final int MSG_TRUNC = 0x20;
    static final int MSG_DONTWAIT = 0x40;
    static final int EINTR = 4;
    static final int EAGAIN = 11;
    static final int ENOBUFS = 105;

    /** {@code struct mmsghdr}: a {@code struct msghdr} and the length the call filled in. */
    static final long MMSGHDR_BYTES = 64;
    static final long MSG_NAME = 0;
    static final long MSG_NAMELEN = 8;
    static final long MSG_IOV = 16;
    static final long MSG_IOVLEN = 24;
    static final long MSG_FLAGS = 48;
    static final long MSG_LEN = 56;
    /** {@code struct iovec}. */
    static final long IOVEC_BYTES = 16;
    static final long IOV_BASE = 0;
    static final long IOV_LEN = 8;
    /** {@code struct epoll_event}: 32-bit events, then 64-bit data, packed on x86-64 only. */
    static final long EPOLL_EVENT_BYTES;
    static final long EPOLL_DATA;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option KEEP_ERRNO = Linker.Option.captureCallState("errno");
    /** For calls that never block (the sockets are non-blocking): no thread-state change around them. */
    private static final Linker.Option QUICK = Linker.Option.critical(false);

    private static final MethodHandle SOCKET = handle("socket", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), KEEP_ERRNO);
    private static final MethodHandle SETSOCKOPT = handle("setsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), KEEP_ERRNO);
    private static final MethodHandle BIND = handle("bind", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), KEEP_ERRNO);
    private static final MethodHandle GETSOCKNAME = handle("getsockname", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS), KEEP_ERRNO);
    private static final MethodHandle CLOSE = handle("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle EPOLL_CREATE1 = handle("epoll_create1", FunctionDescriptor.of(JAVA_INT, JAVA_INT), KEEP_ERRNO);
    private static final MethodHandle EPOLL_CTL = handle("epoll_ctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS), KEEP_ERRNO);
    /** Blocks: a full native transition, so the JVM can reach a safepoint while the loop waits. */
    private static final MethodHandle EPOLL_WAIT = handle("epoll_wait", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
    private static final MethodHandle EVENTFD = handle("eventfd", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), KEEP_ERRNO);
    private static final MethodHandle WRITE = handle("write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), QUICK);
    private static final MethodHandle READ = handle("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), QUICK);
    private static final MethodHandle RECVMMSG = handle("recvmmsg",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS), QUICK);
    private static final MethodHandle SENDMMSG = handle("sendmmsg",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), QUICK, KEEP_ERRNO);

    static {
        boolean x86 = System.getProperty("os.arch").equals("amd64") || System.getProperty("os.arch").equals("x86_64");
        EPOLL_EVENT_BYTES = x86 ? 12 : 16;
        EPOLL_DATA = x86 ? 4 : 8;
    }

    private Libc() {}

    private static MethodHandle handle(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        MemorySegment symbol = LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("the C library has no " + name));
        return LINKER.downcallHandle(symbol, descriptor, options);
    }

    /** Room for the errno a call leaves behind; one per thread that makes calls. */
    static MemorySegment callState(Arena arena) {
        return arena.allocate(CALL_STATE);
    }

    static int errno(MemorySegment callState) {
        return (int) ERRNO.get(callState, 0L);
    }

    static int socket(MemorySegment state, int domain, int type) {
        try {
            return (int) SOCKET.invokeExact(state, domain, type, 0);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int setsockopt(MemorySegment state, int fd, int level, int name, MemorySegment value) {
        try {
            return (int) SETSOCKOPT.invokeExact(state, fd, level, name, value, (int) value.byteSize());
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int bind(MemorySegment state, int fd, MemorySegment address, int length) {
        try {
            return (int) BIND.invokeExact(state, fd, address, length);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int getsockname(MemorySegment state, int fd, MemorySegment address, MemorySegment length) {
        try {
            return (int) GETSOCKNAME.invokeExact(state, fd, address, length);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int close(int fd) {
        try {
            return (int) CLOSE.invokeExact(fd);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int epollCreate(MemorySegment state) {
        try {
            return (int) EPOLL_CREATE1.invokeExact(state, EPOLL_CLOEXEC);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int epollCtl(MemorySegment state, int epfd, int op, int fd, MemorySegment event) {
        try {
            return (int) EPOLL_CTL.invokeExact(state, epfd, op, fd, event);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int epollWait(int epfd, MemorySegment events, int max, int timeoutMillis) {
        try {
            return (int) EPOLL_WAIT.invokeExact(epfd, events, max, timeoutMillis);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int eventfd(MemorySegment state) {
        try {
            return (int) EVENTFD.invokeExact(state, 0, EFD_NONBLOCK | EFD_CLOEXEC);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static long write(int fd, MemorySegment bytes) {
        try {
            return (long) WRITE.invokeExact(fd, bytes, bytes.byteSize());
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static long read(int fd, MemorySegment bytes) {
        try {
            return (long) READ.invokeExact(fd, bytes, bytes.byteSize());
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int recvmmsg(int fd, MemorySegment messages, int count, int flags) {
        try {
            return (int) RECVMMSG.invokeExact(fd, messages, count, flags, MemorySegment.NULL);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int sendmmsg(MemorySegment state, int fd, MemorySegment messages, int count) {
        try {
            return (int) SENDMMSG.invokeExact(state, fd, messages, count, 0);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /**
     * Sends {@code messages[0, queued)} from {@code fd} with sendmmsg, again after EINTR and past a datagram the kernel
     * refuses alone (an ICMP error, an address it will not send to), which adds one to {@code refused[0]}. Returns how
     * many a full queue (EAGAIN, ENOBUFS) left unsent: they are dropped, as a router drops.
     */
    static int sendAll(MemorySegment state, int fd, MemorySegment[] messages, int queued, int[] refused) {
        int done = 0;
        while (done < queued) {
            int sent = sendmmsg(state, fd, messages[done], queued - done);
            if (sent > 0) {
                done += sent;
                continue;
            }
            int errno = errno(state);
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == ENOBUFS) {
                return queued - done;
            }
            refused[0]++;
            done++;
        }
        return 0;
    }

    /** Downcalls throw nothing of their own; anything else is a bug here. */
    private static AssertionError unexpected(Throwable t) {
        return new AssertionError("native call failed unexpectedly", t);
    }
}
