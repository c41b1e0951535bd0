package dev.postern.server;

import dev.postern.core.control.ControlEvent;
import dev.postern.core.forward.ForwardFrames;
import dev.postern.core.mediation.MediationFrames;
import dev.postern.core.relay.RelayFrames;
import dev.postern.server.control.ControlRole;
import dev.postern.server.mediation.MediatorRole;
import dev.postern.server.messaging.MessagingRole;
import dev.postern.server.relay.RelayRequests;
import java.util.function.Consumer;

/**
 * Where the control channel's events go: relay requests to the relay, mediation and forwarded frames to the mediator,
 * everything else (connections, disconnections, messaging frames) to messaging, and disconnections to
 * the mediator too. Created before the channel it answers over, so the channel is attached afterwards.
 */
final class ControlDispatch implements Consumer<ControlEvent> {

    private final MessagingRole messaging;
    private final RelayRequests relay;
    private volatile ControlRole control;
    private volatile MediatorRole mediator;

    ControlDispatch(MessagingRole messaging, RelayRequests relay) {
        this.messaging = messaging;
        this.relay = relay;
    }

    void attach(ControlRole channel, MediatorRole mediatorRole) {
        this.control = channel;
        this.mediator = mediatorRole;
        messaging.attach(channel);
    }

    @Override
    public void accept(ControlEvent event) {
        if (event instanceof ControlEvent.Received r && RelayFrames.isRelayFrame(r.payload())) {
            // The node's session is live while its frames are drained, so its endpoint is known.
            control.endpointOf(r.peer()).ifPresent(from -> relay.handleFrame(r.peer(), r.session(), from.getAddress(), r.payload(),
                    (node, answer) -> control.send(node, answer)));
        } else if (event instanceof ControlEvent.Received r && ForwardFrames.isForwardFrame(r.payload())) {
            mediator.handleForward(r.peer(), r.payload());
        } else if (event instanceof ControlEvent.Received r && MediationFrames.isMediationFrame(r.payload())) {
            mediator.handleFrame(r.peer(), r.session(), r.payload());
        } else {
            if (event instanceof ControlEvent.Disconnected d) {
                mediator.handleDisconnected(d.peer());
                relay.handleDisconnected(d.session());
            }
            messaging.accept(event);
        }
    }
}
