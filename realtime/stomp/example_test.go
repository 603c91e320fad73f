package stomp_test

import (
	"errors"
	"fmt"

	"github.com/tickroom/tickroom/realtime/stomp"
)

// A session feeds each WebSocket message to its parser and drains the
// frames that completed; a frame may span messages, and a message may hold
// several frames and heart-beats.
func ExampleParser() {
	p := stomp.NewParser(stomp.Config{})
	messages := []string{
		"CONNECT\naccept-version:1.1,1.2\nhost:tickroom\n\n\x00SUBSCRIBE\nid:0\ndesti",
		"nation:/topic/rooms/arena-1\n\n\x00\n",
		"\n",
		"SEND\ndestination:/app/rooms/arena-1\ncontent-length:8\n\n{\"x\":\x001}\x00",
		"BOGUS\n\n\x00",
	}
	for _, m := range messages {
		p.Feed([]byte(m))
		for {
			f, err := p.Next()
			var pe *stomp.ParseError
			if errors.As(err, &pe) {
				// Send pe.ErrorFrame(), then close the connection.
				fmt.Printf("ERROR message:%s (%s)\n", pe.Message, pe.Detail)
				break
			}
			if f == nil {
				break // the rest of the frame is in a later message
			}
			dest, _ := f.Get("destination")
			fmt.Printf("%s %s %q\n", f.Command, dest, f.Body)
			if f.Command == stomp.CommandConnect {
				p.SetVersion(stomp.Version12) // negotiated
			}
		}
	}
	fmt.Println("heart-beats:", p.HeartBeats())
	// Output:
	// CONNECT  ""
	// SUBSCRIBE /topic/rooms/arena-1 ""
	// SEND /app/rooms/arena-1 "{\"x\":\x001}"
	// ERROR message:unknown command ("BOGUS" is not a STOMP client command)
	// heart-beats: 2
}

// A room encodes its update once per tick and writes it to every
// subscription with only the per-subscription head encoded each time.
func ExampleMessageTemplate() {
	update := &stomp.Frame{
		Command: stomp.CommandMessage,
		Headers: []stomp.Header{{Key: "destination", Value: "/topic/rooms/arena-1"}, {Key: "content-type", Value: "application/json"}},
		Body:    []byte(`{"seq":42}`),
	}
	tmpl, err := stomp.NewMessageTemplate(update, stomp.Version12)
	if err != nil {
		panic(err)
	}
	var head []byte // reused across subscriptions
	for _, sub := range []string{"0", "sub-1"} {
		head, err = tmpl.AppendHead(head[:0], sub, "m-42", "")
		if err != nil {
			panic(err)
		}
		// A writer would send net.Buffers{head, tmpl.Tail()} here.
		fmt.Printf("%q + %q\n", head, tmpl.Tail())
	}
	// Output:
	// "MESSAGE\nsubscription:0\nmessage-id:m-42\n" + "destination:/topic/rooms/arena-1\ncontent-type:application/json\ncontent-length:10\n\n{\"seq\":42}\x00"
	// "MESSAGE\nsubscription:sub-1\nmessage-id:m-42\n" + "destination:/topic/rooms/arena-1\ncontent-type:application/json\ncontent-length:10\n\n{\"seq\":42}\x00"
}
