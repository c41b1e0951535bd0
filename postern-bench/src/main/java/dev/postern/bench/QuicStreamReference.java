package dev.postern.bench;

import dev.postern.core.time.Clock;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.handler.codec.quic.InsecureQuicTokenHandler;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicClientCodecBuilder;
import io.netty.handler.codec.quic.QuicCodecBuilder;
import io.netty.handler.codec.quic.QuicCongestionControlAlgorithm;
import io.netty.handler.codec.quic.QuicServerCodecBuilder;
import io.netty.handler.codec.quic.QuicSslContext;
import io.netty.handler.codec.quic.QuicSslContextBuilder;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.codec.quic.QuicStreamType;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.io.FileInputStream;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The streams bench's QUIC reference: one bidirectional stream between two Netty QUIC endpoints (quiche, with
 * BoringSSL's TLS 1.3) on loopback, each on its own epoll event loop as a Postern node has its own thread, the
 * sender writing as fast as the stream's flow control and congestion window let it. It runs as fast as it could be
 * made to here: UDP payloads up to loopback's 65,527 bytes from the start (Postern's MTU search reaches 65,000 on
 * loopback; quiche's own PMTU discovery starts small and ran at a tenth of the speed), and quiche's Reno, Postern's
 * NewReno's kin (its CUBIC ran about 330 MB/s and BBR 220 where Reno ran 400 on this machine).
 */
final class QuicStreamReference {

    private static final String PROTOCOL = "postern-bench";
    private static final int CHUNK = 64 * 1024;
    private static final long WINDOW = 16L << 20;
    private static final long MAX_UDP_PAYLOAD = 65_527;

    private final QuicSslContext serverTls;
    private final QuicSslContext clientTls;

    /** Makes the server's key and certificate once, for every run of this reference. */
    QuicStreamReference() throws Exception {
        KeyStore.PrivateKeyEntry identity = selfSigned();
        this.serverTls = QuicSslContextBuilder.forServer(identity.getPrivateKey(), null,
                (X509Certificate) identity.getCertificate()).applicationProtocols(PROTOCOL).build();
        this.clientTls = QuicSslContextBuilder.forClient()
                .trustManager(InsecureTrustManagerFactory.INSTANCE).applicationProtocols(PROTOCOL).build();
    }

    /** Bytes per second one QUIC stream carries on loopback; the sender stops after {@code each}. */
    double bytesPerSecond(Duration each) throws Exception {
        InetAddress lo = InetAddress.getLoopbackAddress();
        EventLoopGroup serverLoop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        EventLoopGroup clientLoop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        AtomicLong received = new AtomicLong();
        CompletableFuture<Long> ended = new CompletableFuture<>();
        try {
            ChannelHandler serverCodec = tuned(new QuicServerCodecBuilder())
                    .sslContext(serverTls)
                    .tokenHandler(InsecureQuicTokenHandler.INSTANCE)
                    .handler(new ChannelInboundHandlerAdapter())
                    .streamHandler(new ChannelInitializer<QuicStreamChannel>() {
                        @Override
                        protected void initChannel(QuicStreamChannel ch) {
                            ch.pipeline().addLast(new Counting(received, ended));
                        }
                    })
                    .build();
            Channel server = datagrams(serverLoop).handler(serverCodec)
                    .bind(new InetSocketAddress(lo, 0)).sync().channel();
            ChannelHandler clientCodec = tuned(new QuicClientCodecBuilder()).sslContext(clientTls).build();
            Channel client = datagrams(clientLoop).handler(clientCodec)
                    .bind(new InetSocketAddress(lo, 0)).sync().channel();
            QuicChannel connection = QuicChannel.newBootstrap(client)
                    .handler(new ChannelInboundHandlerAdapter())
                    .remoteAddress(server.localAddress())
                    .connect().get(10, TimeUnit.SECONDS);
            long start = Clock.SYSTEM.nanoTime();
            long end = start + each.toNanos();
            QuicStreamChannel stream = connection.createStream(QuicStreamType.BIDIRECTIONAL, new Sending(end))
                    .get(10, TimeUnit.SECONDS);
            long bytes = ended.get(each.toSeconds() + 60, TimeUnit.SECONDS);
            double rate = bytes * 1e9 / (Clock.SYSTEM.nanoTime() - start);
            stream.close().sync();
            connection.close().sync();
            client.close().sync();
            server.close().sync();
            return rate;
        } finally {
            clientLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
            serverLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    /** A UDP channel that takes whole datagrams of any size (Netty's default reads 2 KiB and cuts the rest off). */
    private static Bootstrap datagrams(EventLoopGroup loop) {
        return new Bootstrap().group(loop).channel(EpollDatagramChannel.class)
                .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(65_536))
                .option(ChannelOption.SO_RCVBUF, 4 << 20)
                .option(ChannelOption.SO_SNDBUF, 4 << 20);
    }

    private static <B extends QuicCodecBuilder<B>> B tuned(B builder) {
        return builder.maxIdleTimeout(30, TimeUnit.SECONDS)
                .initialMaxData(WINDOW)
                .initialMaxStreamDataBidirectionalLocal(WINDOW)
                .initialMaxStreamDataBidirectionalRemote(WINDOW)
                .initialMaxStreamsBidirectional(4)
                .maxSendUdpPayloadSize(MAX_UDP_PAYLOAD)
                .maxRecvUdpPayloadSize(MAX_UDP_PAYLOAD)
                .congestionControlAlgorithm(QuicCongestionControlAlgorithm.RENO)
                .discoverPmtu(false);
    }

    /** A throwaway self-signed key and certificate for the server, made by the JDK's keytool; its file is gone after. */
    private static KeyStore.PrivateKeyEntry selfSigned() throws Exception {
        Path dir = Files.createTempDirectory("postern-bench-quic");
        Path store = dir.resolve("bench.p12");
        try {
            return selfSigned(store);
        } finally {
            Files.deleteIfExists(store);
            Files.delete(dir);
        }
    }

    private static KeyStore.PrivateKeyEntry selfSigned(Path store) throws Exception {
        String password = "postern-bench";
        Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
        Process p = new ProcessBuilder(keytool.toString(), "-genkeypair", "-alias", "bench", "-keyalg", "EC",
                "-groupname", "secp256r1", "-dname", "CN=localhost", "-validity", "1", "-storetype", "PKCS12",
                "-keystore", store.toString(), "-storepass", password, "-keypass", password)
                .redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("keytool failed: " + output);
        }
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = new FileInputStream(store.toFile())) {
            ks.load(in, password.toCharArray());
        }
        return (KeyStore.PrivateKeyEntry) ks.getEntry("bench", new KeyStore.PasswordProtection(password.toCharArray()));
    }

    /** The receiving end: counts bytes until the sender's FIN, then reports the total. */
    private static final class Counting extends ChannelInboundHandlerAdapter {
        private final AtomicLong received;
        private final CompletableFuture<Long> ended;

        Counting(AtomicLong received, CompletableFuture<Long> ended) {
            this.received = received;
            this.ended = ended;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf b = (ByteBuf) msg;
            received.addAndGet(b.readableBytes());
            b.release();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt == io.netty.channel.socket.ChannelInputShutdownReadComplete.INSTANCE) {
                ended.complete(received.get());
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            ended.complete(received.get());
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ended.completeExceptionally(cause);
        }
    }

    /** The sending end: writes 64 KiB chunks while the stream is writable, until {@code end}, then its FIN. */
    private static final class Sending extends ChannelInboundHandlerAdapter {
        private final long end;
        private final ByteBuf chunk;
        private boolean finished;

        Sending(long end) {
            this.end = end;
            byte[] bytes = new byte[CHUNK];
            new SecureRandom().nextBytes(bytes);
            this.chunk = Unpooled.unreleasableBuffer(Unpooled.directBuffer(CHUNK).writeBytes(bytes));
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            write(ctx);
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            write(ctx);
        }

        private void write(ChannelHandlerContext ctx) {
            while (!finished && ctx.channel().isWritable()) {
                if (Clock.SYSTEM.nanoTime() - end >= 0) {
                    finished = true;
                    ctx.writeAndFlush(Unpooled.EMPTY_BUFFER)
                            .addListener(f -> ((QuicStreamChannel) ctx.channel()).shutdownOutput());
                    return;
                }
                ctx.write(chunk.retainedDuplicate());
            }
            ctx.flush(); // not writable any more: channelWritabilityChanged resumes
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
