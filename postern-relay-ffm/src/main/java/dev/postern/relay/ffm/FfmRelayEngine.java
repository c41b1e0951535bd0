package dev.postern.relay.ffm;

import dev.postern.server.relay.RelayEngine;
import dev.postern.server.relay.RelayPlane;
import java.lang.foreign.Arena;
import java.util.Optional;

/**
 * The relay as a loop of Postern's own over epoll, recvmmsg and sendmmsg, called through Java's foreign
 * function API. At a few datagrams per wakeup (a call's typical load) Netty's per-wakeup work (its event
 * loop's bookkeeping, a JNI transition and a getsockopt per read) cost the relay about a third more CPU
 * than the C reference forwarder; this loop makes the same system calls as that forwarder and no others.
 */
public final class FfmRelayEngine implements RelayEngine {

    /** The default socket buffers drop bursts: ask for 4 MiB, as the Netty engine does. */
    static final int SOCKET_BUFFER_BYTES = 4 << 20;

    @Override
    public String name() {
        return "ffm";
    }

    @Override
    public Optional<String> unavailableReason() {
        if (!System.getProperty("os.name").equals("Linux")) {
            return Optional.of("it needs Linux");
        }
        String arch = System.getProperty("os.arch");
        if (!arch.equals("amd64") && !arch.equals("x86_64") && !arch.equals("aarch64")) {
            return Optional.of("it needs x86-64 or arm64, not " + arch);
        }
        if (!FfmRelayEngine.class.getModule().isNativeAccessEnabled()) {
            return Optional.of("java was started without --enable-native-access=ALL-UNNAMED");
        }
        try (Arena arena = Arena.ofConfined()) {
            int epoll = Libc.epollCreate(Libc.callState(arena));
            if (epoll < 0) {
                return Optional.of("epoll_create1 failed");
            }
            Libc.close(epoll);
        } catch (LinkageError e) {
            return Optional.of("the C library cannot be called: " + e);
        }
        return Optional.empty();
    }

    @Override
    public RelayPlane start(Settings settings) {
        return new FfmRelayPlane(settings);
    }
}
