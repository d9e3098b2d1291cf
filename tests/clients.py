"""API test clients: signed in as a user (session), or calling with an API client's key."""

from rest_framework.test import APIClient


def logged_in(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def as_key(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client
