package dev.postern.server.net;

import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * An event loop group whose plain {@link #shutdownGracefully()} stops at once. Armeria shuts its boss
 * group down that way, and Netty's default two-second quiet period would make every stop (every
 * SIGTERM, every test) wait for nothing: a boss loop only accepts connections.
 */
public final class PromptShutdownGroup extends MultiThreadIoEventLoopGroup {

    public PromptShutdownGroup(String threadName, IoHandlerFactory factory) {
        super(1, new DefaultThreadFactory(threadName, true), factory);
    }

    @Override
    public Future<?> shutdownGracefully() {
        return shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
}
