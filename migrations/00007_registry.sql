-- The household registry: households and their members, with the 54 official
-- ethnic groups as reference data. Personal ID numbers are stored encrypted
-- with a keyed hash for lookup (internal/household/protect.go); names are
-- searchable without diacritics.

-- +goose Up
-- The 54 ethnic groups with the General Statistics Office's codes
-- (classification of Decision 121-TCTK/PPCĐ, 1979).
CREATE TABLE ethnicities (
  code  smallint PRIMARY KEY CHECK (code BETWEEN 1 AND 54),
  name  text     NOT NULL UNIQUE
);
INSERT INTO ethnicities (code, name) VALUES
(1,'Kinh'),(2,'Tày'),(3,'Thái'),(4,'Hoa'),(5,'Khơ-me'),(6,'Mường'),(7,'Nùng'),(8,'HMông'),(9,'Dao'),
(10,'Gia-rai'),(11,'Ngái'),(12,'Ê-đê'),(13,'Ba-na'),(14,'Xơ-đăng'),(15,'Sán Chay'),(16,'Cơ-ho'),(17,'Chăm'),
(18,'Sán Dìu'),(19,'Hrê'),(20,'Mnông'),(21,'Ra-glai'),(22,'Xtiêng'),(23,'Bru-Vân Kiều'),(24,'Thổ'),(25,'Giáy'),
(26,'Cơ-tu'),(27,'Gié-Triêng'),(28,'Mạ'),(29,'Khơ-mú'),(30,'Co'),(31,'Tà-ôi'),(32,'Chơ-ro'),(33,'Kháng'),
(34,'Xinh-mun'),(35,'Hà Nhì'),(36,'Chu-ru'),(37,'Lào'),(38,'La Chí'),(39,'La Ha'),(40,'Phù Lá'),(41,'La Hủ'),
(42,'Lự'),(43,'Lô Lô'),(44,'Chứt'),(45,'Mảng'),(46,'Pà Thẻn'),(47,'Cơ Lao'),(48,'Cống'),(49,'Bố Y'),(50,'Si La'),
(51,'Pu Péo'),(52,'Brâu'),(53,'Ơ Đu'),(54,'Rơ-măm');

CREATE TABLE households (
  id                       uuid        PRIMARY KEY,
  code                     text        NOT NULL CHECK (code ~ '^[0-9A-Za-z._/-]{1,32}$'),
  commune_code             text        NOT NULL REFERENCES areas (code),
  area_path                ltree       NOT NULL,
  village                  text        NOT NULL CHECK (village <> ''),
  address                  text        NOT NULL DEFAULT '',
  area_type                text        NOT NULL CHECK (area_type IN ('rural', 'urban')),
  phone                    text,
  ethnic_minority          boolean     NOT NULL DEFAULT false,
  classification           text        NOT NULL DEFAULT 'none'
                                       CHECK (classification IN ('none', 'poor', 'near_poor', 'average')),
  classification_decision  text,
  status                   text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
  archive_reason           text,
  version                  integer     NOT NULL DEFAULT 1,
  created_by               uuid,
  created_at               timestamptz NOT NULL DEFAULT now(),
  updated_by               uuid,
  updated_at               timestamptz NOT NULL DEFAULT now(),
  UNIQUE (commune_code, code),
  CHECK ((status = 'archived') = (archive_reason IS NOT NULL))
);
CREATE INDEX households_area ON households USING gist (area_path);
CREATE INDEX households_area_id ON households (commune_code, id);

CREATE TABLE members (
  id                  uuid        PRIMARY KEY,
  household_id        uuid        NOT NULL REFERENCES households (id),
  full_name           text        NOT NULL CHECK (full_name <> ''),
  name_key            text        GENERATED ALWAYS AS (f_search_key(full_name)) STORED,
  birth_date          date,
  birth_year          smallint    NOT NULL CHECK (birth_year BETWEEN 1890 AND 2200),
  sex                 text        NOT NULL CHECK (sex IN ('male', 'female')),
  id_kind             text        CHECK (id_kind IN ('cccd', 'cmnd')),
  id_sealed           bytea,
  id_lookup           bytea,
  relationship        text        NOT NULL CHECK (relationship IN ('head', 'spouse', 'child', 'parent', 'grandchild',
                                                               'grandparent', 'sibling', 'in_law', 'other')),
  ethnicity_code      smallint    REFERENCES ethnicities (code),
  disability          boolean     NOT NULL DEFAULT false,
  education_level     text,
  occupation          text,
  employment_status   text,
  insurance_card      text,
  insurance_expiry    date,
  student             boolean     NOT NULL DEFAULT false,
  school_level        text,
  status              text        NOT NULL DEFAULT 'present' CHECK (status IN ('present', 'moved_out', 'deceased')),
  status_date         date,
  version             integer     NOT NULL DEFAULT 1,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  CHECK ((id_kind IS NULL) = (id_sealed IS NULL) AND (id_sealed IS NULL) = (id_lookup IS NULL)),
  CHECK (birth_date IS NULL OR extract(year FROM birth_date) = birth_year)
);
CREATE INDEX members_household ON members (household_id);
CREATE INDEX members_name ON members USING gin (name_key gin_trgm_ops);
-- An ID number belongs to at most one present person in the whole registry.
CREATE UNIQUE INDEX members_id_present ON members (id_lookup) WHERE status = 'present' AND id_lookup IS NOT NULL;
-- A household has at most one present head (the service requires exactly one).
CREATE UNIQUE INDEX members_one_head ON members (household_id) WHERE relationship = 'head' AND status = 'present';

-- +goose Down
DROP TABLE members;
DROP TABLE households;
DROP TABLE ethnicities;
