package dev.postern.server;

import dev.postern.core.control.ControlEvent;
import dev.postern.core.relay.RelayFrames;
import dev.postern.server.control.ControlRole;
import dev.postern.server.messaging.MessagingRole;
import dev.postern.server.relay.RelayRequests;
import java.util.function.Consumer;

/**
 * Where the control channel's events go: relay requests to the relay, everything else (connections,
 * disconnections, messaging frames) to messaging. Created before the channel it answers over, so the
 * channel is attached afterwards.
 */
final class ControlDispatch implements Consumer<ControlEvent> {

    private final MessagingRole messaging;
    private final RelayRequests relay;
    private volatile ControlRole control;

    ControlDispatch(MessagingRole messaging, RelayRequests relay) {
        this.messaging = messaging;
        this.relay = relay;
    }

    void attach(ControlRole channel) {
        this.control = channel;
        messaging.attach(channel);
    }

    @Override
    public void accept(ControlEvent event) {
        if (event instanceof ControlEvent.Received r && RelayFrames.isRelayFrame(r.payload())) {
            relay.onFrame(r.peer(), r.payload(), (node, answer) -> control.send(node, answer));
        } else {
            messaging.accept(event);
        }
    }
}
