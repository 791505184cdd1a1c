"""The cold-start baseline: a naive handler that imports every client at the top and builds
them at module level, as many Lambda samples do."""

import boto3
import pymongo
import redis
from confluent_kafka import Producer

dynamo = boto3.client(
    "apigatewaymanagementapi", endpoint_url="http://127.0.0.1:9/local", region_name="us-east-1"
)
mongo = pymongo.MongoClient("mongodb://127.0.0.1:27017/mayachat")
cache = redis.Redis.from_url("redis://127.0.0.1:6379/0")
producer = Producer({"bootstrap.servers": "127.0.0.1:9092"})


def handler(event, context):  # type: ignore[no-untyped-def]
    return {"statusCode": 200}
