package dev.postern.server.net;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelConfig;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.util.UncheckedBooleanSupplier;

/**
 * Fixed read buffers of {@code batch} datagram slots, where a read that did not fill every slot ends
 * the wakeup. Netty's datagram channel reads again until the socket reports it empty, which at a low
 * rate (one datagram per wakeup) costs a second recvmmsg per datagram. A batch that came back short
 * already found the socket empty, and a datagram that arrives after it raises a new epoll event.
 */
final class BatchReadAllocator extends FixedRecvByteBufAllocator {

    BatchReadAllocator(int bufferBytes, int maxMessagesPerWakeup) {
        super(bufferBytes);
        maxMessagesPerRead(maxMessagesPerWakeup);
    }

    @Override
    public Handle newHandle() {
        return new FullBatchesContinue((ExtendedHandle) super.newHandle());
    }

    private static final class FullBatchesContinue implements ExtendedHandle {
        private final ExtendedHandle delegate;

        FullBatchesContinue(ExtendedHandle delegate) {
            this.delegate = delegate;
        }

        @Override
        public boolean continueReading(UncheckedBooleanSupplier maybeMoreData) {
            return delegate.continueReading(maybeMoreData) && batchWasFull();
        }

        @Override
        public boolean continueReading() {
            return delegate.continueReading() && batchWasFull();
        }

        // The epoll channel reports a whole batch's slots as read: equal means every slot held a datagram.
        private boolean batchWasFull() {
            return delegate.lastBytesRead() >= delegate.attemptedBytesRead();
        }

        @Override
        public ByteBuf allocate(ByteBufAllocator alloc) {
            return delegate.allocate(alloc);
        }

        @Override
        public int guess() {
            return delegate.guess();
        }

        @Override
        public void reset(ChannelConfig config) {
            delegate.reset(config);
        }

        @Override
        public void incMessagesRead(int numMessages) {
            delegate.incMessagesRead(numMessages);
        }

        @Override
        public void lastBytesRead(int bytes) {
            delegate.lastBytesRead(bytes);
        }

        @Override
        public int lastBytesRead() {
            return delegate.lastBytesRead();
        }

        @Override
        public void attemptedBytesRead(int bytes) {
            delegate.attemptedBytesRead(bytes);
        }

        @Override
        public int attemptedBytesRead() {
            return delegate.attemptedBytesRead();
        }

        @Override
        public void readComplete() {
            delegate.readComplete();
        }
    }
}
