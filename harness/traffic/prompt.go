package traffic

import (
	"context"
	"net/http"

	"github.com/agentops/failover-harness/harness/history"
)

// SendPrompt posts one message with the given content, idempotent by
// messageID. Unlike SendMessage's unique text, a repeated prompt can be
// answered from the region's exact-match response cache (op.Cache says).
func (c *Client) SendPrompt(ctx context.Context, user, clientRegion, session, messageID, content string) history.Op {
	op, _ := c.do(ctx, history.Op{Kind: history.KindMessage, User: user, Client: clientRegion, Session: session, MessageID: messageID},
		http.MethodPost, "/v1/sessions/"+session+"/messages",
		map[string]string{"message_id": messageID, "content": content},
		map[string]string{"Idempotency-Key": messageID, SessionTokenHeader: SessionToken(session)})
	return op
}
