package dev.postern.client.internal.tcp;

import dev.postern.core.identity.NodeId;
import dev.postern.core.noise.CipherState;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.util.Arrays;
import java.util.Optional;

/**
 * A TCP connection to a peer whose key the handshake proved, with everything after the handshake
 * sealed: the bytes written go as records, each its length and its ChaCha20-Poly1305 ciphertext under
 * the next nonce, and an empty record marks the end, so a connection cut short reads as an error,
 * not as a clean end.
 *
 * <pre>
 * record | length u16 (of the ciphertext) | ciphertext (plaintext + 16-byte tag) |
 * </pre>
 */
public final class PeerSocket implements AutoCloseable {

    /** The most plaintext one record carries. */
    static final int MAX_RECORD = 65_535 - CipherState.TAG_BYTES;
    private static final byte[] NO_AD = new byte[0];

    private final Socket socket;
    private final NodeId peer;
    private final CipherState send;
    private final CipherState receive;
    private final SealedOutput out;
    private final SealedInput in;

    PeerSocket(Socket socket, NodeId peer, CipherState[] transport) throws IOException {
        this.socket = socket;
        this.peer = peer;
        this.send = transport[0];
        this.receive = transport[1];
        this.out = new SealedOutput(socket.getOutputStream());
        this.in = new SealedInput(new DataInputStream(socket.getInputStream()));
    }

    /** The peer's proven identity. */
    public NodeId peer() {
        return peer;
    }

    public Socket socket() {
        return socket;
    }

    public InputStream getInputStream() {
        return in;
    }

    public OutputStream getOutputStream() {
        return out;
    }

    /** Marks the end of what this side sends, then closes the connection (a peer already gone is no error). */
    @Override
    public void close() throws IOException {
        try {
            out.close();
        } catch (IOException peerGone) {
            // the end could not be sent: the peer closed first, and the socket goes anyway
        } finally {
            socket.close();
        }
    }

    private final class SealedOutput extends OutputStream {
        private final OutputStream raw;
        private boolean ended;

        SealedOutput(OutputStream raw) {
            this.raw = raw;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) throws IOException {
            if (ended) {
                throw new IOException("the stream has ended");
            }
            for (int at = off; at < off + len; at += MAX_RECORD) {
                record(Arrays.copyOfRange(b, at, Math.min(off + len, at + MAX_RECORD)));
            }
        }

        private void record(byte[] plain) throws IOException {
            byte[] sealed = send.encryptWithAd(NO_AD, plain);
            raw.write(new byte[] {(byte) (sealed.length >> 8), (byte) sealed.length});
            raw.write(sealed);
        }

        @Override
        public synchronized void flush() throws IOException {
            raw.flush();
        }

        @Override
        public synchronized void close() throws IOException {
            if (!ended) {
                record(new byte[0]);
                ended = true;
                raw.flush();
            }
        }
    }

    private final class SealedInput extends InputStream {
        private final DataInputStream raw;
        private byte[] current = new byte[0];
        private int position;
        private boolean ended;

        SealedInput(DataInputStream raw) {
            this.raw = raw;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public synchronized int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            while (position == current.length) {
                if (ended || !nextRecord()) {
                    return -1;
                }
            }
            int n = Math.min(len, current.length - position);
            System.arraycopy(current, position, b, off, n);
            position += n;
            return n;
        }

        /** False at the sealed end; throws if the connection ends without it or a record is forged. */
        private boolean nextRecord() throws IOException {
            int length;
            byte[] sealed;
            try {
                length = raw.readUnsignedShort();
                sealed = new byte[length];
                raw.readFully(sealed);
            } catch (EOFException e) {
                throw new IOException("the connection to " + peer.hex() + " was cut before its end");
            }
            Optional<byte[]> plain = receive.decryptWithAd(NO_AD, sealed);
            if (plain.isEmpty()) {
                throw new IOException("a record from " + peer.hex() + " failed authentication");
            }
            if (plain.get().length == 0) {
                ended = true;
                return false;
            }
            current = plain.get();
            position = 0;
            return true;
        }
    }
}
