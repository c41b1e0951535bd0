package dev.postern.core.portmap;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import dev.postern.core.net.IpLiteral;
import java.net.InetAddress;
import java.util.List;
import java.util.Optional;

/**
 * UPnP IGD's control: the connection service a device description offers (where to post SOAP actions), the three
 * actions a port mapping takes (the external address, add, delete), and what their answers say. Descriptions and
 * answers are read by finding elements in the text, not by an XML parser: a router's few fixed elements need no more,
 * and nothing in them can make the node fetch entities or expand anything.
 *
 * @param control where actions are posted
 * @param serviceType the service's URN, which every action names
 */
public record IgdControl(HttpUrl control, String serviceType) {

    /** The services that map ports, most capable first. */
    static final List<String> SERVICES = List.of("urn:schemas-upnp-org:service:WANIPConnection:2",
            "urn:schemas-upnp-org:service:WANIPConnection:1", "urn:schemas-upnp-org:service:WANPPPConnection:1");
    /** A description or answer longer than this is not read (a router's are a few kilobytes). */
    public static final int MAX_BYTES = 65_536;
    /** The UPnP error for a router that takes only mappings without a lease (0: until removed). */
    static final int ONLY_PERMANENT_LEASES = 725;

    /** The connection service in the description fetched from {@code description}, by {@link #SERVICES}' order. */
    public static Decoded<IgdControl> fromDescription(String xml, HttpUrl description) {
        if (xml.length() > MAX_BYTES) {
            return Decoded.bad(DecodeError.WRONG_LENGTH);
        }
        HttpUrl base = description;
        Optional<String> urlBase = element(xml, 0, "URLBase");
        if (urlBase.isPresent() && HttpUrl.parse(urlBase.get()) instanceof Decoded.Ok<HttpUrl> ok) {
            base = ok.value();
        }
        for (String wanted : SERVICES) {
            for (int at = xml.indexOf("<service>"); at >= 0; at = xml.indexOf("<service>", at + 1)) {
                int end = xml.indexOf("</service>", at);
                if (end < 0) {
                    break;
                }
                String service = xml.substring(at, end);
                if (element(service, 0, "serviceType").filter(wanted::equals).isEmpty()) {
                    continue;
                }
                Optional<String> control = element(service, 0, "controlURL");
                if (control.isEmpty()) {
                    return Decoded.bad(DecodeError.MALFORMED);
                }
                Decoded<HttpUrl> url = base.resolve(control.get());
                if (url instanceof Decoded.Ok<HttpUrl> ok && !ok.value().host().getAddress().equals(description.host().getAddress())) {
                    return Decoded.bad(DecodeError.WRONG_PEER); // only the device that described itself is told what to map
                }
                return url.map(u -> new IgdControl(u, wanted));
            }
        }
        return Decoded.bad(DecodeError.UNKNOWN_CODE);
    }

    /** The SOAPAction header's value for {@code action}. */
    public String soapAction(String action) {
        return "\"" + serviceType + "#" + action + "\"";
    }

    public String externalAddressRequest() {
        return envelope("GetExternalIPAddress", "");
    }

    /** Maps UDP {@code externalPort} to {@code internalClient}'s {@code internalPort} for {@code lease} seconds (0: until removed). */
    public String addRequest(int externalPort, InetAddress internalClient, int internalPort, long lease, String description) {
        return envelope("AddPortMapping", "<NewRemoteHost></NewRemoteHost>"
                + "<NewExternalPort>" + externalPort + "</NewExternalPort>"
                + "<NewProtocol>UDP</NewProtocol>"
                + "<NewInternalPort>" + internalPort + "</NewInternalPort>"
                + "<NewInternalClient>" + internalClient.getHostAddress() + "</NewInternalClient>"
                + "<NewEnabled>1</NewEnabled>"
                + "<NewPortMappingDescription>" + description + "</NewPortMappingDescription>"
                + "<NewLeaseDuration>" + lease + "</NewLeaseDuration>");
    }

    public String deleteRequest(int externalPort) {
        return envelope("DeletePortMapping", "<NewRemoteHost></NewRemoteHost>"
                + "<NewExternalPort>" + externalPort + "</NewExternalPort>"
                + "<NewProtocol>UDP</NewProtocol>");
    }

    private String envelope(String action, String arguments) {
        return "<?xml version=\"1.0\"?>\r\n"
                + "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" "
                + "s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body>"
                + "<u:" + action + " xmlns:u=\"" + serviceType + "\">" + arguments + "</u:" + action + ">"
                + "</s:Body></s:Envelope>\r\n";
    }

    /** The external address in an answer to {@link #externalAddressRequest}. */
    public static Decoded<InetAddress> externalAddress(String answer) {
        if (answer.length() > MAX_BYTES) {
            return Decoded.bad(DecodeError.WRONG_LENGTH);
        }
        return element(answer, 0, "NewExternalIPAddress").map(IpLiteral::parse).orElse(Decoded.bad(DecodeError.MALFORMED));
    }

    /** The UPnP error code a SOAP fault carries, if the answer is one. */
    public static Optional<Integer> errorCode(String answer) {
        if (answer.length() > MAX_BYTES) {
            return Optional.empty();
        }
        return element(answer, 0, "errorCode").flatMap(IgdControl::number);
    }

    private static Optional<Integer> number(String digits) {
        if (digits.isEmpty() || digits.length() > 9) {
            return Optional.empty();
        }
        int n = 0;
        for (int i = 0; i < digits.length(); i++) {
            char c = digits.charAt(i);
            if (c < '0' || c > '9') {
                return Optional.empty();
            }
            n = n * 10 + (c - '0');
        }
        return Optional.of(n);
    }

    /**
     * The text of the first element named {@code name} from {@code from} on, with or without a namespace prefix
     * ({@code <u:name>}), trimmed; empty if there is none or it is not closed.
     */
    static Optional<String> element(String xml, int from, String name) {
        for (int open = xml.indexOf(name, from); open > 0; open = xml.indexOf(name, open + 1)) {
            int lt = xml.lastIndexOf('<', open);
            boolean opening = lt >= 0 && prefixOnly(xml, lt + 1, open); // not a closing tag: '/' is no prefix
            int gt = open + name.length();
            if (!opening || gt >= xml.length() || xml.charAt(gt) != '>') {
                continue;
            }
            String prefix = xml.substring(lt + 1, open);
            int close = xml.indexOf("</" + prefix + name + ">", gt);
            if (close < 0) {
                return Optional.empty();
            }
            return Optional.of(xml.substring(gt + 1, close).strip());
        }
        return Optional.empty();
    }

    /** Whether {@code xml[from, to)} is empty or a namespace prefix and its colon. */
    private static boolean prefixOnly(String xml, int from, int to) {
        if (from == to) {
            return true;
        }
        if (xml.charAt(to - 1) != ':') {
            return false;
        }
        for (int i = from; i < to - 1; i++) {
            char c = xml.charAt(i);
            if (!Character.isLetterOrDigit(c) && c != '_' && c != '-') {
                return false;
            }
        }
        return true;
    }
}
