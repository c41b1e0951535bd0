package dev.postern.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

/**
 * A stand-in for a peer of the introducer library ({@code @socketsupply/introducer}), written from its wire
 * description ({@code ../shared/reference/introducer-wire.md}), not from its code, and run as a process of
 * its own inside the kernel lab. It behaves as the library's peers do, with their timings:
 * <ul>
 * <li>UDP port 3456 for everything, and 3457 (the spin port) to learn whether unsolicited packets reach it;</li>
 * <li>NAT detection: a ping to each of its two introducers every second until its NAT is known, and in the
 *     first round also a ping with {@code spinPort} to the first; {@code hard} if the two pongs show different
 *     ports, {@code static} if a spin arrives, else {@code easy} once both pongs agree (then it pings both
 *     introducers again, so they learn it);</li>
 * <li>on {@code connect}: a ping at 0, 500 and 1000 ms where a static peer is involved or both are easy; the
 *     birthday sequence between easy and hard (the easy side pings a random, never repeated port every
 *     10 ms, up to 2,000; the hard side sends one ping from each of 256 random local ports, all at once);
 *     nothing between two hard NATs (the library gives up there);</li>
 * <li>every ping answered with a pong from the port it came to; a connect ignored unless its address, port,
 *     NAT and id are all valid.</li>
 * </ul>
 * Usage: {@code IntroducerPeer ID INTRODUCER1-ID IP1 INTRODUCER2-ID IP2 [intro TARGET-ID | join SWARM | wait] SECONDS}.
 * It prints {@code nat TYPE} on every change of its NAT type and {@code connected ID} when a peer it was told to
 * connect to pings or pongs it; it exits 0 a second after that, or 1 when the seconds are up.
 */
public final class IntroducerPeer {

    private static final int PORT = 3456;
    private static final int SPIN_PORT = 3457;
    private static final int BIRTHDAY_INTERVAL_MS = 10;
    private static final int BIRTHDAY_MAX_PINGS = 2000;
    private static final int HARD_SIDE_PORTS = 256;
    private static final Pattern ID = Pattern.compile("[0-9a-fA-F]{64}");
    private static final ObjectMapper JSON = new ObjectMapper();

    private record Timer(long at, Runnable task) {}

    private final String id;
    private final String[] introducerIds;
    private final InetSocketAddress[] introducers;
    private final long restart = System.currentTimeMillis();
    private final Selector selector;
    private final DatagramChannel main;
    private final Map<Integer, DatagramChannel> byPort = new HashMap<>();
    private final PriorityQueue<Timer> timers = new PriorityQueue<>((a, b) -> Long.compare(a.at(), b.at()));
    private final Integer[] pongPorts = new Integer[2];
    private boolean spun;
    private String nat;
    /** Peers the introducer told this one to connect to, and those that answered. */
    private final Set<String> wanted = new HashSet<>();
    private final Set<String> heard = new HashSet<>();
    private long doneAt = Long.MAX_VALUE;

    private IntroducerPeer(String id, String[] introducerIds, InetSocketAddress[] introducers) throws IOException {
        this.id = id;
        this.introducerIds = introducerIds;
        this.introducers = introducers;
        this.selector = Selector.open();
        this.main = open(PORT);
        open(SPIN_PORT);
    }

    public static void main(String[] args) throws Exception {
        IntroducerPeer peer = new IntroducerPeer(args[0], new String[] {args[1], args[3]},
                new InetSocketAddress[] {new InetSocketAddress(args[2], PORT), new InetSocketAddress(args[4], PORT)});
        String command = args[5];
        String argument = command.equals("wait") ? null : args[6];
        long seconds = Long.parseLong(args[args.length - 1]);
        System.exit(peer.run(command, argument, System.currentTimeMillis() + seconds * 1000));
    }

    private DatagramChannel open(int port) throws IOException {
        DatagramChannel c = DatagramChannel.open(StandardProtocolFamily.INET);
        c.bind(new InetSocketAddress(port));
        c.configureBlocking(false);
        c.register(selector, SelectionKey.OP_READ, port);
        byPort.put(port, c);
        return c;
    }

    private int run(String command, String argument, long deadline) throws IOException {
        discover(true);
        ByteBuffer buffer = ByteBuffer.allocate(2048);
        while (true) {
            long now = System.currentTimeMillis();
            if (now >= doneAt) {
                return 0;
            }
            if (now >= deadline) {
                System.out.println("timed out" + (nat == null ? " without a NAT type" : ""));
                return 1;
            }
            while (!timers.isEmpty() && timers.peek().at() <= now) {
                timers.poll().task().run();
            }
            long next = Math.min(deadline, Math.min(doneAt, timers.isEmpty() ? deadline : timers.peek().at()));
            selector.select(Math.max(1, next - System.currentTimeMillis()));
            for (SelectionKey key : selector.selectedKeys()) {
                DatagramChannel c = (DatagramChannel) key.channel();
                buffer.clear();
                InetSocketAddress from;
                while ((from = (InetSocketAddress) c.receive(buffer)) != null) {
                    buffer.flip();
                    onDatagram((Integer) key.attachment(), from, buffer, command, argument);
                    buffer.clear();
                }
            }
            selector.selectedKeys().clear();
        }
    }

    private void after(long millis, Runnable task) {
        timers.add(new Timer(System.currentTimeMillis() + millis, task));
    }

    /** Pings both introducers every second until the NAT type is known; the first round also asks for a spin. */
    private void discover(boolean first) {
        if (nat != null) {
            return;
        }
        for (InetSocketAddress introducer : introducers) {
            ping(introducer, PORT);
        }
        if (first) {
            send(JSON.createObjectNode().put("type", "ping").put("id", id).put("spinPort", SPIN_PORT), introducers[0], PORT);
        }
        after(1000, () -> discover(false));
    }

    private void ping(InetSocketAddress to, int fromPort) {
        ObjectNode m = JSON.createObjectNode().put("type", "ping").put("id", id);
        if (nat == null) {
            m.putNull("nat");
        } else {
            m.put("nat", nat);
        }
        send(m.put("restart", restart), to, fromPort);
    }

    private void send(ObjectNode m, InetSocketAddress to, int fromPort) {
        try {
            byPort.get(fromPort).send(ByteBuffer.wrap(JSON.writeValueAsBytes(m)), to);
        } catch (IOException e) {
            // as a UDP send of the library: lost
        }
    }

    private void onDatagram(int port, InetSocketAddress from, ByteBuffer data, String command, String argument) {
        JsonNode m;
        try {
            m = JSON.readTree(data.array(), 0, data.remaining());
        } catch (IOException e) {
            return; // the library logs a parse error and drops it
        }
        if (m == null || !m.path("type").isTextual()) {
            return;
        }
        switch (m.get("type").asText()) {
            case "pong" -> onPong(m, from, command, argument);
            case "spin" -> {
                spun = true;
                checkNat(command, argument);
            }
            case "ping" -> {
                if (isId(m.get("id"))) {
                    send(JSON.createObjectNode().put("type", "pong").put("id", id).put("address", from.getAddress().getHostAddress())
                            .put("port", from.getPort()).put("nat", nat).put("restart", restart), from, port);
                    heardFrom(m.get("id").asText());
                }
            }
            case "connect" -> onConnect(m);
            default -> { }
        }
    }

    private void onPong(JsonNode m, InetSocketAddress from, String command, String argument) {
        if (!isId(m.get("id"))) {
            return;
        }
        String who = m.get("id").asText();
        for (int i = 0; i < 2; i++) {
            if (who.equals(introducerIds[i]) && m.path("port").isInt()) {
                pongPorts[i] = m.get("port").asInt();
                checkNat(command, argument);
                return;
            }
        }
        heardFrom(who);
    }

    /** The library's rule: ports differ, hard; a spin came, static; two pongs agree, easy. */
    private void checkNat(String command, String argument) {
        String was = nat;
        if (pongPorts[0] != null && pongPorts[1] != null && !pongPorts[0].equals(pongPorts[1])) {
            nat = "hard";
        } else if (spun) {
            nat = "static";
        } else if (pongPorts[0] != null && pongPorts[1] != null) {
            nat = "easy";
        }
        if (nat != null && !nat.equals(was)) {
            System.out.println("nat " + nat);
            for (InetSocketAddress introducer : introducers) {
                ping(introducer, PORT); // so that the introducers learn it
            }
            if (was == null) {
                ask(command, argument);
            }
        }
    }

    private void ask(String command, String argument) {
        switch (command) {
            case "intro" -> {
                wanted.add(argument);
                send(JSON.createObjectNode().put("type", "intro").put("id", id).put("nat", nat).put("target", argument), introducers[0], PORT);
            }
            case "join" -> send(JSON.createObjectNode().put("type", "join").put("id", id).put("swarm", argument).put("nat", nat)
                    .put("peers", 3).put("current", 0), introducers[0], PORT);
            default -> { }
        }
    }

    private void onConnect(JsonNode m) {
        String target = m.path("target").asText();
        int port = m.path("port").asInt(-1);
        String theirs = m.path("nat").asText("");
        boolean valid = isId(m.get("target")) && isId(m.get("id")) && m.path("address").isTextual() && port > 0 && port <= 65535
                && (theirs.equals("static") || theirs.equals("easy") || theirs.equals("hard") || theirs.equals("unknown"));
        if (!valid) {
            return; // the library ignores a connect it cannot use
        }
        wanted.add(target);
        if (heard.contains(target)) {
            connected(target); // its pings reached this side before the connect did
            return;
        }
        InetSocketAddress them = new InetSocketAddress(m.get("address").asText(), port);
        if (theirs.equals("static") || "static".equals(nat) || "easy".equals(nat) && !theirs.equals("hard")) {
            ping3(target, them);
        } else if ("easy".equals(nat)) {
            guess(target, them, new HashSet<>(), 0);
        } else if ("hard".equals(nat) && theirs.equals("easy")) {
            openMany(them);
        } else {
            System.out.println("cannot connect " + nat + " to " + theirs);
        }
    }

    private void ping3(String target, InetSocketAddress them) {
        ping(them, PORT);
        for (long at : new long[] {500, 1000}) {
            after(at, () -> {
                if (!heard.contains(target)) {
                    ping(them, PORT);
                }
            });
        }
    }

    /** The easy side of the birthday sequence: a random, never repeated port of theirs every 10 ms. */
    private void guess(String target, InetSocketAddress them, Set<Integer> tried, int sent) {
        if (heard.contains(target) || sent >= BIRTHDAY_MAX_PINGS) {
            return;
        }
        int port;
        do {
            port = 1 + ThreadLocalRandom.current().nextInt(65535);
        } while (!tried.add(port));
        ping(new InetSocketAddress(them.getAddress(), port), PORT);
        after(BIRTHDAY_INTERVAL_MS, () -> guess(target, them, tried, sent + 1));
    }

    /** The hard side: one ping from each of 256 random local ports to the easy side, all at once. */
    private void openMany(InetSocketAddress them) {
        List<Integer> ports = new ArrayList<>();
        while (ports.size() < HARD_SIDE_PORTS) {
            int p = 1024 + ThreadLocalRandom.current().nextInt(65535 - 1024);
            if (!byPort.containsKey(p)) {
                try {
                    open(p);
                    ports.add(p);
                } catch (IOException taken) {
                    // in use: another
                }
            }
        }
        ports.forEach(p -> ping(them, p));
    }

    private void heardFrom(String who) {
        if (heard.add(who) && wanted.contains(who)) {
            connected(who);
        }
    }

    private void connected(String who) {
        System.out.println("connected " + who);
        System.out.flush();
        // A second more, so that the other side hears this one too.
        doneAt = Math.min(doneAt, System.currentTimeMillis() + 1000);
    }

    private static boolean isId(JsonNode v) {
        return v != null && v.isTextual() && ID.matcher(v.asText()).matches();
    }
}
