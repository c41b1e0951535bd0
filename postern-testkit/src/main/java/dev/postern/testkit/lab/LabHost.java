package dev.postern.testkit.lab;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

/** A machine in the kernel lab: a network namespace with one address. */
public final class LabHost {

    private final NetnsLab lab;
    private final String namespace;
    private final InetAddress address;

    LabHost(NetnsLab lab, String namespace, InetAddress address) {
        this.lab = lab;
        this.namespace = namespace;
        this.address = address;
    }

    public String namespace() {
        return namespace;
    }

    /** Its own address (behind a NAT, the inside one). */
    public InetAddress address() {
        return address;
    }

    /** {@code command} run inside this host's namespace. */
    public List<String> inside(String... command) {
        List<String> c = new ArrayList<>(List.of("ip", "netns", "exec", namespace));
        c.addAll(List.of(command));
        return c;
    }

    /** Starts {@code command} in this host; the lab stops it when it closes, if it has not ended by then. */
    public Process start(ProcessBuilder builder) throws java.io.IOException {
        List<String> c = new ArrayList<>(List.of("ip", "netns", "exec", namespace));
        c.addAll(builder.command());
        return lab.track(builder.command(c).start());
    }

    @Override
    public String toString() {
        return namespace + " (" + address.getHostAddress() + ")";
    }
}
