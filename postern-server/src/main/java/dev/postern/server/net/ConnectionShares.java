package dev.postern.server.net;

import dev.postern.core.limit.SourceCounts;
import dev.postern.core.limit.SourceNetwork;
import io.netty.channel.Channel;
import java.net.InetSocketAddress;
import java.util.function.Consumer;

/**
 * Connections a TCP listener keeps open at once, in all and per source network (IPv4 address, IPv6 /64): one over
 * either share is refused, and an admitted one gives its place back when it closes. Safe for a listener whose
 * connections are spread over several event loops.
 */
public final class ConnectionShares {

    /** Why a connection was refused, or that it was not. */
    public enum Verdict { ADMITTED, REFUSED_BUSY, REFUSED_SOURCE }

    private final int max;
    private final int maxPerSource;
    private final SourceCounts perSource = new SourceCounts();
    private int open;

    public ConnectionShares(int max, int maxPerSource) {
        this.max = max;
        this.maxPerSource = maxPerSource;
    }

    /**
     * Admits {@code ch} as the channel is set up; or tells {@code onRefused} why not (so it is counted before the
     * client can see the close) and closes it.
     */
    public boolean admit(Channel ch, Consumer<Verdict> onRefused) {
        Verdict verdict = take(ch);
        if (verdict == Verdict.ADMITTED) {
            return true;
        }
        onRefused.accept(verdict);
        ch.close();
        return false;
    }

    private synchronized Verdict take(Channel ch) {
        SourceNetwork source = SourceNetwork.of(((InetSocketAddress) ch.remoteAddress()).getAddress());
        Verdict verdict = open >= max ? Verdict.REFUSED_BUSY
                : perSource.of(source) >= maxPerSource ? Verdict.REFUSED_SOURCE : Verdict.ADMITTED;
        if (verdict == Verdict.ADMITTED) {
            open++;
            perSource.add(source);
            ch.closeFuture().addListener(f -> release(source));
        }
        return verdict;
    }

    private synchronized void release(SourceNetwork source) {
        open--;
        perSource.remove(source);
    }
}
