package dev.postern.client.internal.p2psc;

import dev.postern.client.PosternException;
import dev.postern.core.codec.Decoded;
import dev.postern.core.p2psc.P2pscCodec;
import dev.postern.core.p2psc.P2pscMessage;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * p2psc messages over a TCP socket. The original sends each message with one {@code send()} and reads
 * it with one {@code read()}, which TCP does not promise; this reads whole JSON objects however the
 * bytes arrive (split or several in one segment), by tracking braces outside strings.
 */
public final class P2pscStream {

    /** p2psc's messages are two levels deep; anything much deeper is not one. */
    static final int MAX_DEPTH = 8;

    private final InputStream in;
    private final OutputStream out;

    public P2pscStream(Socket socket) throws IOException {
        this.in = new BufferedInputStream(socket.getInputStream());
        this.out = socket.getOutputStream();
    }

    public void send(P2pscMessage m) throws IOException {
        out.write(P2pscCodec.encode(m).getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /** The next message; empty when the other side closed between messages. */
    public Optional<P2pscMessage> receive() throws IOException {
        Optional<String> text = nextObject(in);
        if (text.isEmpty()) {
            return Optional.empty();
        }
        if (!(P2pscCodec.decode(text.get()) instanceof Decoded.Ok<P2pscMessage> ok)) {
            throw protocolError("not a p2psc message: " + abbreviate(text.get()));
        }
        return Optional.of(ok.value());
    }

    /** The next message, which must be of {@code type}. */
    public <T extends P2pscMessage> T expect(Class<T> type) throws IOException {
        P2pscMessage m = receive().orElseThrow(() -> protocolError("the other side closed the connection"));
        if (!type.isInstance(m)) {
            throw protocolError("expected " + type.getSimpleName() + ", got " + m.getClass().getSimpleName()
                    + (m instanceof P2pscMessage.AdvertiseAbort a ? " (" + a.reason() + ")" : ""));
        }
        return type.cast(m);
    }

    /** The bytes of the next top-level JSON object; empty at the end of the stream before one starts. */
    static Optional<String> nextObject(InputStream in) throws IOException {
        int c;
        do {
            c = in.read();
        } while (c == ' ' || c == '\n' || c == '\r' || c == '\t');
        if (c < 0) {
            return Optional.empty();
        }
        if (c != '{') {
            throw protocolError("a message must be a JSON object");
        }
        byte[] buf = new byte[P2pscCodec.MAX_MESSAGE];
        byte[] closers = new byte[MAX_DEPTH];
        int n = 0;
        int depth = 0;
        boolean inString = false;
        boolean escaped = false;
        while (true) {
            if (n == buf.length) {
                throw protocolError("a message longer than " + P2pscCodec.MAX_MESSAGE + " bytes");
            }
            buf[n++] = (byte) c;
            if (inString) {
                if (escaped) {
                    escaped = false;
                } else if (c == '\\') {
                    escaped = true;
                } else if (c == '"') {
                    inString = false;
                }
            } else if (c == '"') {
                inString = true;
            } else if (c == '{' || c == '[') {
                if (depth == MAX_DEPTH) {
                    throw protocolError("a message nested deeper than " + MAX_DEPTH);
                }
                closers[depth++] = (byte) (c == '{' ? '}' : ']');
            } else if (c == '}' || c == ']') {
                if (closers[--depth] != c) {
                    throw protocolError("a message with unbalanced brackets");
                }
                if (depth == 0) {
                    return Optional.of(new String(buf, 0, n, StandardCharsets.UTF_8));
                }
            }
            c = in.read();
            if (c < 0) {
                throw protocolError("the connection ended inside a message");
            }
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 80) + "...";
    }

    /** The other side broke the protocol: not a JSON object, too long, or a message that does not decode. */
    private static PosternException protocolError(String message) {
        return new PosternException(PosternException.Reason.PROTOCOL_ERROR, message);
    }
}
