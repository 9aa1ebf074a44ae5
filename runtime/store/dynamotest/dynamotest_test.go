package dynamotest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// call posts one DynamoDB JSON API request to the server and decodes the answer.
func call(t *testing.T, url, op string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s: decode %q: %v", op, raw, err)
	}
	return resp.StatusCode, out
}

func TestWrapperFillsMinidynGaps(t *testing.T) {
	s, err := Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	code, _ := call(t, s.URL, "CreateTable", map[string]any{
		"TableName":            "t",
		"AttributeDefinitions": []any{map[string]string{"AttributeName": "pk", "AttributeType": "S"}},
		"KeySchema":            []any{map[string]string{"AttributeName": "pk", "KeyType": "HASH"}},
		"BillingMode":          "PAY_PER_REQUEST",
	})
	if code != 200 {
		t.Fatalf("CreateTable = %d", code)
	}

	if code, out := call(t, s.URL, "DescribeTimeToLive", map[string]string{"TableName": "t"}); code != 200 ||
		out["TimeToLiveDescription"].(map[string]any)["TimeToLiveStatus"] != "DISABLED" {
		t.Fatalf("DescribeTimeToLive before = %d %v", code, out)
	}
	if code, _ := call(t, s.URL, "UpdateTimeToLive", map[string]any{"TableName": "t",
		"TimeToLiveSpecification": map[string]any{"AttributeName": "ttl", "Enabled": true}}); code != 200 {
		t.Fatalf("UpdateTimeToLive = %d", code)
	}
	if code, out := call(t, s.URL, "DescribeTimeToLive", map[string]string{"TableName": "t"}); code != 200 ||
		out["TimeToLiveDescription"].(map[string]any)["AttributeName"] != "ttl" {
		t.Fatalf("DescribeTimeToLive after = %d %v", code, out)
	}
	if code, _ := call(t, s.URL, "UpdateTimeToLive", map[string]any{"TableName": "missing",
		"TimeToLiveSpecification": map[string]any{"AttributeName": "ttl", "Enabled": true}}); code != 400 {
		t.Fatalf("UpdateTimeToLive on a missing table = %d, want 400", code)
	}

	item := func(v string) map[string]any {
		return map[string]any{"pk": map[string]string{"S": "k"}, "v": map[string]string{"N": v}}
	}
	// Without ReturnValues DynamoDB returns no attributes (minidyn returned the new item).
	if _, out := call(t, s.URL, "PutItem", map[string]any{"TableName": "t", "Item": item("1")}); out["Attributes"] != nil {
		t.Fatalf("PutItem without ReturnValues returned %v", out)
	}
	_, out := call(t, s.URL, "PutItem", map[string]any{"TableName": "t", "Item": item("2"), "ReturnValues": "ALL_OLD"})
	if got := out["Attributes"].(map[string]any)["v"].(map[string]any)["N"]; got != "1" {
		t.Fatalf("ALL_OLD returned v=%v, want the old 1", got)
	}
	code, out = call(t, s.URL, "PutItem", map[string]any{"TableName": "t", "Item": item("3"),
		"ConditionExpression": "v < :v", "ExpressionAttributeValues": map[string]any{":v": map[string]string{"N": "1"}},
		"ReturnValuesOnConditionCheckFailure": "ALL_OLD"})
	if code != 400 || out["Item"].(map[string]any)["v"].(map[string]any)["N"] != "2" {
		t.Fatalf("failed condition = %d %v, want 400 with the current item", code, out)
	}
}
