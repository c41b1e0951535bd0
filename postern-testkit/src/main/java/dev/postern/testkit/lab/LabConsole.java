package dev.postern.testkit.lab;

import java.io.IOException;
import java.util.Locale;

/**
 * The kernel NAT lab by hand ({@code bin/nat-lab TYPE...}): builds the lab with one host per type
 * given (public, full_cone, easy, hard), prints the commands that run a program inside each
 * namespace, and removes everything when its input ends (Enter or Ctrl-D) or it is stopped.
 */
public final class LabConsole {

    private LabConsole() {}

    public static void main(String[] args) throws IOException {
        if (args.length == 0) {
            System.err.println("usage: bin/nat-lab TYPE...   (TYPE: public, full_cone, easy, hard; one host each)");
            System.exit(2);
        }
        NatType[] types = new NatType[args.length];
        for (int i = 0; i < args.length; i++) {
            try {
                types[i] = NatType.valueOf(args[i].toUpperCase(Locale.ROOT).replace('-', '_'));
            } catch (IllegalArgumentException e) {
                System.err.println("nat-lab: '" + args[i] + "' is not a NAT type: public, full_cone, easy or hard");
                System.exit(2);
            }
        }
        var why = NetnsLab.unavailableReason();
        if (why.isPresent()) {
            System.err.println("nat-lab: cannot build the lab: " + why.get());
            System.exit(1);
        }
        try (NetnsLab lab = NetnsLab.create()) {
            System.out.println("server namespace (addresses " + NetnsLab.SERVER_ADDRESS + " and " + NetnsLab.SERVER_SECOND_ADDRESS + "):");
            System.out.println("  " + String.join(" ", lab.server().inside("COMMAND")));
            for (NatType type : types) {
                LabHost host = type == NatType.PUBLIC ? lab.addPublicHost() : lab.addSite(type).addHost();
                System.out.println(type.name().toLowerCase(Locale.ROOT) + " host " + host.address().getHostAddress() + ":");
                System.out.println("  " + String.join(" ", host.inside("COMMAND")));
            }
            System.out.println("The lab stays until this input ends (Enter or Ctrl-D); then everything is removed.");
            System.out.flush();
            System.in.read();
        }
    }
}
