package dev.postern.server.net;

import dev.postern.server.ServerException;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A TLS server side from a certificate chain and a private key in PEM files, which {@link #reload} reads again (on
 * SIGHUP, so a renewed certificate takes effect without a restart): connections made after a reload get the new
 * certificate, those open keep theirs. Any listener that speaks TLS takes its handler from here (TURN over TLS today;
 * the TCP fallback on 443 later).
 */
public final class PemTls {

    private final Path certificate;
    private final Path key;
    private final AtomicReference<SslContext> context = new AtomicReference<>();

    private PemTls(Path certificate, Path key, SslContext first) {
        this.certificate = certificate;
        this.key = key;
        this.context.set(first);
    }

    /** Reads both files now: a missing file, an unreadable key or a certificate that is not PEM stops the start. */
    public static PemTls load(Path certificate, Path key) throws ServerException {
        return new PemTls(certificate, key, read(certificate, key));
    }

    private static SslContext read(Path certificate, Path key) throws ServerException {
        try {
            return SslContextBuilder.forServer(certificate.toFile(), key.toFile()).build();
        } catch (Exception e) { // Netty's PEM reader throws IllegalArgumentException or SSLException
            throw ServerException.startup("cannot use the TLS certificate " + certificate + " and key " + key + ": " + e.getMessage(), e);
        }
    }

    /** Reads the files again; on failure the certificate in use stays, and the reason is thrown. */
    public void reload() throws ServerException {
        context.set(read(certificate, key));
    }

    /** A handler for a new connection, with the certificate now in use. */
    public SslHandler newHandler(ByteBufAllocator alloc) {
        return context.get().newHandler(alloc);
    }

    public Path certificate() {
        return certificate;
    }
}
